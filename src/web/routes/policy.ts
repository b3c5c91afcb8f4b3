// The policy in force: the Policy page, GET /api/policy, and dry-run decisions with POST /api/check.
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Call, CompiledPolicy } from '../../policy/index.js';
import type { WebEnv } from '../security.js';
import { type PolicyStatus, policyPage } from '../views/pages.js';
import { jsonBody, optionalString } from './body.js';
import type { Frame } from './frame.js';

export interface PolicyDeps {
  /** The policy in force, for POST /api/check. */
  policy?: (() => CompiledPolicy | undefined) | undefined;
  /** Hash, load time and last reload errors, for GET /api/policy and the Policy page (off without it). */
  policyStatus?: (() => PolicyStatus | undefined) | undefined;
}

/** GET /policy, only when there is a status to show. */
export function policyPageRoute(
  pages: Hono<WebEnv>,
  { policyStatus, frame }: Pick<PolicyDeps, 'policyStatus'> & { frame: Frame },
): void {
  if (policyStatus === undefined) return;
  pages.get('/policy', (c) =>
    c.html(frame(c.get('principal'), 'Policy', 'policy', policyPage(policyStatus()))),
  );
}

/** GET /api/policy and POST /api/check. */
export function policyApiRoutes(api: Hono<WebEnv>, { policy, policyStatus }: PolicyDeps): void {
  api.get('/policy', (c) => {
    const status = policyStatus?.();
    if (!status) return c.json({ error: 'No policy loaded' }, 503);
    return c.json({
      sha256: status.sha256,
      loaded_at: new Date(status.loadedAt).toISOString(),
      file: status.file ?? null,
      errors: status.errors,
      ...(status.warnings !== undefined && { warnings: status.warnings }),
    });
  });

  api.post('/check', async (c) => {
    const compiled = policy?.();
    if (!compiled) return c.json({ error: 'No policy loaded' }, 503);
    const body = await jsonBody(c.req);
    const tool = body.tool;
    if (typeof tool !== 'string' || tool.length === 0 || tool.length > 256) {
      throw new HTTPException(400, { message: '"tool" must be a non-empty string' });
    }
    const call: Call = {
      tool,
      server: optionalString(body, 'server'),
      agent: optionalString(body, 'agent'),
      args: body.args ?? {},
    };
    const decision = compiled.evaluate(call, { explain: true });
    return c.json({
      decision: decision.decision,
      rule: decision.rule,
      reason: decision.reason,
      policy_sha256: decision.policySha256,
      trace: decision.trace ?? [],
    });
  });
}
