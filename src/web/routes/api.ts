// Admin JSON API (DESIGN 5): approvals, audit records, policy status, dry-run checks. Bearer token or session cookie.
import { type Context, Hono, type HonoRequest } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Approval, DecisionVerb } from '../../approvals/index.js';
import { canonicalJson, formatLine } from '../../audit/chain.js';
import { queryAudit } from '../../audit/query.js';
import type { AuditRecord } from '../../audit/types.js';
import type { Call } from '../../policy/types.js';
import type { WebAppOptions } from '../app.js';
import { API_LIST, approvalListSearch, parseApprovalListParams } from '../approval-paging.js';
import { auditSearch, parseAuditFilters } from '../audit-filters.js';
import { type Displayed, displayed } from '../display.js';
import { clientAddress } from '../rate-limit.js';
import { checkCsrf, hasBearer, identify, type Principal, type WebEnv } from '../security.js';
import { apiRevealRoute } from './reveal.js';

const NOTE_MAX = 2000;

export function approvalJson(a: Approval | Displayed) {
  return {
    id: a.id,
    status: a.status,
    server: a.server,
    tool: a.tool,
    args: JSON.parse(a.argsCanonical) as unknown,
    agent: a.agent,
    rule: a.rule,
    reason: a.reason,
    created_at: new Date(a.createdAt).toISOString(),
    expires_at: new Date(a.expiresAt).toISOString(),
    decided_at: a.decidedAt === null ? null : new Date(a.decidedAt).toISOString(),
    decided_by: a.decidedBy,
    note: a.note,
    executed_at: a.executedAt === null ? null : new Date(a.executedAt).toISOString(),
    correlation_id: a.correlationId,
    args_sha256: a.argsSha256,
    // JSON Pointers of the masked argument values (POST /api/approvals/:id/reveal takes one).
    ...('maskedPaths' in a && { masked: a.maskedPaths }),
  };
}

/**
 * A record exactly as the writer stored it: canonical JSON without `hash`, then `hash` last (see
 * src/audit/README.md). Re-serializing a parsed writer line this way gives back the same bytes.
 */
export function auditLine(record: AuditRecord): string {
  const { hash, ...rest } = record;
  return formatLine(canonicalJson(rest), hash);
}

function wantsJsonl(format: string | undefined, accept: string | undefined): boolean {
  if (format === 'jsonl' || format === 'ndjson') return true;
  if (format === 'json') return false;
  if (format !== undefined && format !== '') {
    throw new HTTPException(400, { message: 'format must be json or jsonl' });
  }
  return (accept ?? '').toLowerCase().includes('application/x-ndjson');
}

/** 429 for an address whose sign-in is paused; the JSON names a code, Retry-After says when to come back. */
function tooManySignIns(c: Context<WebEnv>, retryAfterSeconds: number): Response {
  c.header('Retry-After', String(retryAfterSeconds));
  return c.json(
    {
      error: `Too many failed sign-ins from this address: try again in ${retryAfterSeconds} s`,
      code: 'E_SIGN_IN_RATE_LIMITED',
      retry_after: retryAfterSeconds,
    },
    429,
  );
}

export function reviewerOf(principal: Principal): string {
  return principal.kind === 'bearer' ? 'admin (API token)' : `${principal.session.reviewer} (browser)`;
}

/** Through Hono's body cache: the CSRF check may already have read a form body of the same request. */
async function jsonBody(req: HonoRequest): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HTTPException(400, { message: 'Body is not valid JSON' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HTTPException(400, { message: 'Body must be a JSON object' });
  }
  return body as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, key: string, max = 500): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > max) {
    throw new HTTPException(400, { message: `"${key}" must be a string of at most ${max} characters` });
  }
  return value;
}

export function apiRoutes(options: WebAppOptions): Hono<WebEnv> {
  const api = new Hono<WebEnv>();

  api.use('*', async (c, next) => {
    // A Bearer token is a guess at the admin token like the sign-in form's: limited the same way,
    // and while an address is paused its tokens are not even compared.
    const address = clientAddress(c);
    const guessing = hasBearer(c);
    if (guessing) {
      const verdict = options.auth.signIns.check(address);
      if (!verdict.allowed) return tooManySignIns(c, verdict.retryAfterSeconds);
    }
    const principal = identify(c, options.auth);
    if (!principal) {
      if (guessing) {
        options.auth.signIns.fail(address);
        options.log?.(`api: wrong admin token from ${address}`);
      }
      c.header('WWW-Authenticate', 'Bearer realm="portcullis"');
      throw new HTTPException(401, { message: 'Authentication required' });
    }
    c.set('principal', principal);
    if (c.req.method === 'POST') await checkCsrf(c, principal);
    await next();
  });

  // The body stays the documented array; paging rides in headers, as on GET /api/audit?format=jsonl:
  // X-Total-Count (the whole list), X-Next-Cursor and Link rel="next"/"prev". Pending approvals come
  // soonest expiry first, so the next one to time out is on the first page however many follow it.
  api.get('/approvals', (c) => {
    const params = parseApprovalListParams(new URL(c.req.url).searchParams, API_LIST);
    const page = options.queue.page(params);
    c.header('X-Total-Count', String(page.total));
    const links: string[] = [];
    const link = (cursor: string, rel: string) =>
      `</api/approvals${approvalListSearch({ ...params, cursor }, API_LIST)}>; rel="${rel}"`;
    if (page.nextCursor !== null) {
      c.header('X-Next-Cursor', page.nextCursor);
      links.push(link(page.nextCursor, 'next'));
    }
    if (page.prevCursor !== null) links.push(link(page.prevCursor, 'prev'));
    if (links.length > 0) c.header('Link', links.join(', '));
    return c.json(page.approvals.map((a) => approvalJson(displayed(options, a))));
  });

  api.get('/approvals/:id', (c) => {
    const approval = options.queue.get(c.req.param('id'));
    if (!approval) throw new HTTPException(404, { message: 'No such approval' });
    return c.json(approvalJson(displayed(options, approval)));
  });

  for (const verb of ['approve', 'deny'] as const satisfies readonly DecisionVerb[]) {
    const path = `/approvals/:id/${verb}`;
    api.post(path, async (c) => {
      const body = await jsonBody(c.req);
      const note = optionalString(body, 'note', NOTE_MAX);
      const by = reviewerOf(c.get('principal'));
      const approval = options.queue.decide(c.req.param('id') ?? '', { decision: verb, by, note });
      options.log?.(`approval ${approval.id} ${approval.status} by ${by}`);
      return c.json({ id: approval.id, status: approval.status });
    });
    api.on(['GET', 'PUT', 'PATCH', 'DELETE'], path, () => {
      throw new HTTPException(405, { message: 'Use POST' });
    });
  }

  apiRevealRoute(api, options, (c) => jsonBody(c.req), reviewerOf);

  // Records of every writer's chain, newest first. JSON: {records, next_cursor}, each record as
  // stored plus `chain` (its writer slot; never a stored field). JSONL (format=jsonl or Accept:
  // application/x-ndjson): the stored lines exactly, with the cursor in X-Next-Cursor and a Link rel="next".
  api.get('/audit', async (c) => {
    const format = c.req.query('format');
    const jsonl = wantsJsonl(format, c.req.header('accept'));
    const { filters, query } = parseAuditFilters(new URL(c.req.url).searchParams, ['format']);
    if (options.auditDir === undefined) return c.json({ error: 'The audit log is not available here' }, 503);
    const page = await queryAudit(options.auditDir, query);
    if (!jsonl) {
      const records = page.records.map((record, i) => ({ ...record, chain: page.chains[i] }));
      return c.json({ records, next_cursor: page.nextCursor });
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/x-ndjson; charset=utf-8' };
    if (page.nextCursor !== null) {
      headers['X-Next-Cursor'] = page.nextCursor;
      const next = auditSearch({ ...filters, before: page.nextCursor });
      headers.Link = `</api/audit${next}${format === undefined ? '' : `&format=${format}`}>; rel="next"`;
    }
    return c.body(page.records.map(auditLine).join(''), 200, headers);
  });

  api.get('/policy', (c) => {
    const status = options.policyStatus?.();
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
    const policy = options.policy?.();
    if (!policy) return c.json({ error: 'No policy loaded' }, 503);
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
    const decision = policy.evaluate(call, { explain: true });
    return c.json({
      decision: decision.decision,
      rule: decision.rule,
      reason: decision.reason,
      policy_sha256: decision.policySha256,
      trace: decision.trace ?? [],
    });
  });
  api.on(['GET', 'PUT', 'PATCH', 'DELETE'], '/check', () => {
    throw new HTTPException(405, { message: 'Use POST' });
  });

  return api;
}
