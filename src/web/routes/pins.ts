// Pins: the Pins page, its Accept and Reject decisions, and GET /api/pins and POST /api/pins/:server/:tool/accept|reject.
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { decideHeld, type PinAudit, PinDecisionError, type PinStore } from '../../pins/index.js';
import { pinsOverview, type ServerPins } from '../pins-overview.js';
import { actorOf, type Principal, readForm, type WebEnv } from '../security.js';
import { type PinsFlash, pinsPage } from '../views/pins.js';
import { jsonBody, optionalString } from './body.js';
import type { Frame } from './frame.js';

/** The running proxy's pins, as the UI decides on them. */
export interface WebPins {
  store: PinStore;
  /** Where decisions are recorded, before any pin file changes. */
  audit: PinAudit;
  /** A decision was written: the running proxy judges the server's held tools again (and tells clients). */
  applied?: ((server: string) => void) | undefined;
}

export interface PinsDeps {
  /** Without it there is no Pins page and no /api/pins. */
  pins?: WebPins | undefined;
  log?: ((line: string) => void) | undefined;
}

type SessionPrincipal = Extract<Principal, { kind: 'session' }>;

const SHA256 = /^sha256:[0-9a-f]{64}$/;

function serverJson(entry: ServerPins) {
  if (entry.state === 'unreadable') {
    return {
      server: entry.server,
      state: entry.state,
      error: entry.error,
      reset_command: entry.resetCommand,
    };
  }
  return {
    server: entry.server,
    state: entry.state,
    pinned: entry.pinned.map((p) => ({ tool: p.tool, sha256: p.sha256, pinned_at: p.pinnedAt })),
    held: entry.held.map((h) => ({
      tool: h.tool,
      why: h.why,
      findings: h.findings,
      sha256: h.sha256,
      pinned_sha256: h.pinnedSha256,
      seen_at: h.seenAt,
      rejected_at: h.rejectedAt,
      diff: h.diff,
    })),
  };
}

/** The one decision path of the page and the API: audited first (decideHeld), then applied to the running proxy. */
async function decide(
  deps: PinsDeps & { pins: WebPins },
  input: {
    server: string;
    tool: string;
    action: 'accepted' | 'rejected';
    by: string;
    sha256?: string | undefined;
  },
): Promise<string> {
  if (input.sha256 !== undefined && !SHA256.test(input.sha256)) {
    throw new HTTPException(400, { message: '"sha256" must be sha256:<64 hex digits>' });
  }
  const { sha256 } = await decideHeld(deps.pins.store, deps.pins.audit, {
    server: input.server,
    tool: input.tool,
    action: input.action,
    by: input.by,
    expectSha256: input.sha256,
  });
  deps.log?.(`pins: ${input.server}/${input.tool} ${input.action} by ${input.by}`);
  try {
    deps.pins.applied?.(input.server);
  } catch (error) {
    // Written and recorded: the proxy still notices on the next call of the tool.
    deps.log?.(`pins: applying the decision on ${input.server} failed: ${(error as Error).message}`);
  }
  return sha256;
}

function flashFrom(query: Record<string, string>, servers: ServerPins[]): PinsFlash | undefined {
  const { done, server, tool } = query;
  // Only names that are in the pin files: a crafted link cannot make the page say something else.
  const known = servers.some(
    (s) =>
      s.server === server &&
      s.state === 'pinned' &&
      (s.held.some((h) => h.tool === tool) || s.pinned.some((p) => p.tool === tool)),
  );
  if (!known || !server || !tool) return undefined;
  const what = `${server}/${tool}`;
  if (done === 'accepted') return { kind: 'ok', text: `Accepted ${what}: it is pinned and runs again now.` };
  if (done === 'rejected')
    return { kind: 'ok', text: `Rejected ${what}: it stays held and its calls are refused.` };
  if (done === 'stale')
    return {
      kind: 'error',
      text: `${what} changed again since the page was shown: nothing was decided. Look at its diff again.`,
    };
  return undefined;
}

/** GET /pins and POST /pins/decide (the held card's Accept and Reject buttons). */
export function pinsPageRoutes(pages: Hono<WebEnv>, deps: PinsDeps & { frame: Frame }): void {
  const { pins, frame } = deps;
  if (!pins) return;
  pages.get('/pins', (c) => {
    const principal = c.get('principal') as SessionPrincipal;
    const servers = pinsOverview(pins.store);
    const body = pinsPage(servers, principal.session.csrf, flashFrom(c.req.query(), servers));
    return c.html(frame(principal, 'Pins', 'pins', body));
  });

  pages.post('/pins/decide', async (c) => {
    const principal = c.get('principal') as SessionPrincipal;
    const form = await readForm(c);
    const { server, tool, sha256 } = form;
    const action =
      form.decision === 'accept' ? 'accepted' : form.decision === 'reject' ? 'rejected' : undefined;
    if (!action) throw new HTTPException(400, { message: 'decision must be accept or reject' });
    if (!server || !tool || !sha256)
      throw new HTTPException(400, { message: 'server, tool and sha256 are needed' });
    const by = actorOf(principal);
    const back = (done: string) => c.redirect(`/pins?${new URLSearchParams({ done, server, tool })}`, 303);
    try {
      await decide({ ...deps, pins }, { server, tool, action, by, sha256 });
      return back(action);
    } catch (error) {
      if (error instanceof PinDecisionError) return back('stale');
      throw error;
    }
  });
}

/** GET /api/pins and POST /api/pins/:server/:tool/accept|reject; the API's own auth and CSRF apply. */
export function pinsApiRoutes(
  api: Hono<WebEnv>,
  deps: PinsDeps & { reviewerOf: (principal: Principal) => string },
): void {
  const { pins } = deps;
  if (!pins) return;
  api.get('/pins', (c) => c.json(pinsOverview(pins.store).map(serverJson)));
  for (const [verb, action] of [
    ['accept', 'accepted'],
    ['reject', 'rejected'],
  ] as const) {
    api.post(`/pins/:server/:tool/${verb}`, async (c) => {
      const body = await jsonBody(c.req);
      const server = c.req.param('server');
      const tool = c.req.param('tool');
      const by = deps.reviewerOf(c.get('principal'));
      const sha256 = await decide(
        { ...deps, pins },
        { server, tool, action, by, sha256: optionalString(body, 'sha256', 80) },
      );
      return c.json({ server, tool, action, sha256 });
    });
  }
}
