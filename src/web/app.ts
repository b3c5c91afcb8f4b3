// Builds the UI and admin API as a Hono app from its dependencies, so tests drive it with app.request().
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { methodNotAllowed } from 'hono/method-not-allowed';
import type { Registry } from 'prom-client';
import { AgentError, type AgentRegistry } from '../agents/index.js';
import {
  ApprovalConflictError,
  ApprovalError,
  ApprovalNotFoundError,
  ApprovalQueryError,
  type ApprovalQueue,
} from '../approvals/index.js';
import { AuditQueryError, type AuditSink } from '../audit/index.js';
import type { Suspension } from '../governance/index.js';
import { IncidentError, type Incidents } from '../incidents/index.js';
import { PinDecisionError } from '../pins/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { Redaction } from '../secrets/index.js';
import { type HostGuardRefusal, hostGuard } from '../util/index.js';
import { loadAssets } from './assets.js';
import type { WebAuth } from './auth.js';
import { auditIntegrity, type ComplianceSources, ComplianceWindowError } from './compliance/index.js';
import { approvalMasker } from './display.js';
import { instanceProof } from './instance.js';
import { createMetrics } from './metrics.js';
import { apiRoutes } from './routes/api.js';
import { pageRoutes } from './routes/pages.js';
import type { WebPins } from './routes/pins.js';
import { healthRoutes, publicRoutes, type ReadyReport } from './routes/public.js';
import { revealer } from './routes/reveal.js';
import { securityHeaders, type WebEnv } from './security.js';
import { layout } from './views/layout.js';
import { messagePage, type PolicyStatus } from './views/pages.js';

/** Everything the web app is built from; buildWebApp hands each route group only its part. */
export interface WebAppOptions {
  queue: ApprovalQueue;
  auth: WebAuth;
  /** `host:port` values the Host header may carry (lower case), e.g. 127.0.0.1:8787 and localhost:8787. */
  allowedHosts: () => readonly string[];
  /** Origins that may send requests; defaults to http://<each allowed host>. */
  allowedOrigins?: (() => readonly string[]) | undefined;
  /** The policy in force, for POST /api/check. */
  policy?: (() => CompiledPolicy | undefined) | undefined;
  /** Hash, load time and last reload errors, for GET /api/policy and the policy page. */
  policyStatus?: (() => PolicyStatus | undefined) | undefined;
  /** The audit log directory (`<data-dir>/audit`), for the audit page and GET /api/audit; both are off without it. */
  auditDir?: string | undefined;
  /**
   * Masks secrets in arguments wherever approvals are shown (pages and API), as a reviewer should
   * see them (the audit log's Redactor, `review`), and says where. The queue keeps the real
   * arguments, which are what an approval forwards; a masked value can be revealed on purpose.
   */
  redactArgs?: ((args: unknown) => Redaction) | undefined;
  /** The running proxy's pin files: the Pins page and /api/pins (both off without it). */
  pins?: WebPins | undefined;
  /** The agent registry: the Agents page and /api/agents (both off without it). */
  agents?: AgentRegistry | undefined;
  /** Who is suspended (the incidents part), shown on the Agents page. */
  suspension?: ((agent: string) => Suspension | null) | undefined;
  /** The running proxy's incidents: the Incidents page, /api/incidents and suspending agents (all off without it). */
  incidents?: (() => Incidents | undefined) | undefined;
  /** Where reveals of masked values are recorded; without it nothing can be revealed. */
  audit?: AuditSink | undefined;
  /** Readiness of the things the proxy depends on (audit log, upstreams); the store is checked here. */
  ready?: (() => ReadyReport | Promise<ReadyReport>) | undefined;
  /** Prometheus registry to add the approval metrics to; a private one is made otherwise. */
  registry?: Registry | undefined;
  /** One line per notable event (sign-ins, decisions). Never given a credential. */
  log?: ((line: string) => void) | undefined;
  /** Keep-alive comment interval on the live-update stream. */
  sseHeartbeatMs?: number | undefined;
  /** The data dir's instance key: with it, /health/instance proves which data dir this UI serves. */
  instanceKey?: string | undefined;
  /** Every agent (registry, file, auto-registered), for the Compliance page's agent counts; "not connected" without it. */
  directory?: ComplianceSources['directory'];
  /** Incidents for the Compliance page when they are not `incidents` (a test's own); default `incidents`. */
  incidentLog?: ComplianceSources['incidents'];
  /** The audit chains' verification for the score; by default the audit dir verified at most every 10 minutes. */
  integrity?: ComplianceSources['integrity'];
  /** Audit records one Compliance view reads at most (default 20,000). */
  maxRecords?: number | undefined;
}

export interface WebApp {
  app: Hono<WebEnv>;
  registry: Registry;
  /** Detach from the queue (live streams and metrics hooks). */
  close(): void;
}

/** Decisions, notes, sign-ins and dry-run checks are small; a megabyte leaves room for /api/check arguments. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Approvals the asker may not approve: a client-kept one (409), two-person without an account (403), a second vote (409). */
const APPROVAL_REFUSALS: Record<string, 403 | 409> = {
  E_APPROVAL_IN_CLIENT: 409,
  E_APPROVAL_NEEDS_ACCOUNT: 403,
  E_APPROVAL_ALREADY_VOTED: 409,
};

const REFUSALS: Record<HostGuardRefusal, string> = {
  host: 'Host not allowed',
  origin: 'Origin not allowed',
  'cross-site': 'Cross-site request refused',
};

/** JSON for the API and for clients that do not ask for HTML; a page in the frame for browsers. */
function errorResponse(
  c: Context<WebEnv>,
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
): Response | Promise<Response> {
  if (c.req.path.startsWith('/api/') || !(c.req.header('accept') ?? '').includes('text/html')) {
    return c.json({ error: message, ...extra }, status as 400);
  }
  return c.html(
    layout({ title: 'Error', active: 'none', showPolicy: false }, messagePage(`${status}`, message)),
    status as 400,
  );
}

/** Before any route: response headers, the Host/Origin guard, the body limit, and 405 for a known path. */
function protect(app: Hono<WebEnv>, options: WebAppOptions): void {
  const allowedOrigins =
    options.allowedOrigins ?? (() => options.allowedHosts().map((host) => `http://${host}`));
  app.use('*', securityHeaders());
  app.use(
    '*',
    hostGuard({
      hosts: options.allowedHosts,
      origins: allowedOrigins,
      refuse: (_c, refusal) => {
        throw new HTTPException(403, { message: REFUSALS[refusal] });
      },
    }),
  );
  // /login takes a body before anyone is signed in: no request body may be larger than this.
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: `Payload too large: the limit is ${MAX_BODY_BYTES} bytes` }, 413),
    }),
  );
  // A GET on a state-changing route is a 405 naming what it takes (POST), not a 404; sign-in still comes first.
  app.use(
    '*',
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => {
        c.header('Allow', methods.join(', '));
        return errorResponse(c, 405, `Use ${methods.join(' or ')}`);
      },
    }),
  );
}

/** After every route: 404s, and errors turned into responses in this one place. */
function answerErrors(app: Hono<WebEnv>, log: WebAppOptions['log']): void {
  app.notFound((c) => {
    if (c.req.path.startsWith('/api/')) return c.json({ error: 'Not found' }, 404);
    return c.html(
      layout(
        { title: 'Not found', active: 'none', showPolicy: false },
        messagePage('Not found', 'There is no page here.'),
      ),
      404,
    );
  });

  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.res ?? errorResponse(c, error.status, error.message);
    if (error instanceof ApprovalNotFoundError) return errorResponse(c, 404, error.message);
    if (error instanceof AuditQueryError || error instanceof ApprovalQueryError) {
      return errorResponse(c, 400, error.message, { code: error.code });
    }
    if (error instanceof ComplianceWindowError)
      return errorResponse(c, 400, error.message, { code: error.code });
    if (error instanceof PinDecisionError) return errorResponse(c, 409, error.message, { code: error.code });
    if (error instanceof AgentError) {
      const status =
        { E_AGENT_NOT_FOUND: 404, E_KEY_NOT_FOUND: 404, E_AGENT_INVALID: 400 }[error.code as string] ?? 409;
      return errorResponse(c, status, error.message, { code: error.code });
    }
    if (error instanceof IncidentError)
      return errorResponse(c, error.status, error.message, { code: error.code });
    if (error instanceof ApprovalConflictError) {
      return errorResponse(c, 409, error.message, { status: error.status });
    }
    // Approve refused for who is asking (kept in the client, two reviewers needed, voted already): codes, not messages.
    if (error instanceof ApprovalError && APPROVAL_REFUSALS[error.code] !== undefined)
      return errorResponse(c, APPROVAL_REFUSALS[error.code] as 403 | 409, error.message, {
        code: error.code,
      });
    log?.(`web: ${c.req.method} ${c.req.path} failed: ${(error as Error).message}`);
    return errorResponse(c, 500, 'Internal error');
  });
}

/**
 * Liveness, readiness and metrics alone, for the MCP endpoint to serve when the UI is off (a
 * container's health check, a Prometheus scrape): no sign-in, nothing secret, the same answers as the UI's.
 */
export function healthApp(options: Pick<WebAppOptions, 'queue' | 'ready' | 'registry'>): WebApp {
  const metrics = createMetrics(options.queue, options.registry);
  const app = new Hono<WebEnv>();
  app.route(
    '/',
    healthRoutes({
      checkStore: () => void options.queue.store.countPending(),
      ready: options.ready,
      registry: metrics.registry,
    }),
  );
  return { app, registry: metrics.registry, close: metrics.close };
}

export function buildWebApp(options: WebAppOptions): WebApp {
  const metrics = createMetrics(options.queue, options.registry);
  const mask = approvalMasker(options.redactArgs);
  const reveal = revealer({ queue: options.queue, mask, audit: options.audit, log: options.log });
  const compliance = {
    integrity:
      options.integrity ?? (options.auditDir === undefined ? undefined : auditIntegrity(options.auditDir)),
    now: () => options.queue.now(),
  };
  const app = new Hono<WebEnv>();
  protect(app, options);
  app.route(
    '/',
    publicRoutes({
      assets: loadAssets(),
      checkStore: () => void options.queue.store.countPending(),
      ready: options.ready,
      registry: metrics.registry,
      instanceProof:
        options.instanceKey === undefined
          ? undefined
          : (c) => instanceProof(options.instanceKey as string, c),
    }),
  );
  app.route('/api', apiRoutes({ ...options, ...compliance, mask, reveal }));
  app.route('/', pageRoutes({ ...options, ...compliance, mask, reveal }));
  answerErrors(app, options.log);
  return { app, registry: metrics.registry, close: metrics.close };
}
