// Builds the UI and admin API as a Hono app from its dependencies, so tests drive it with app.request().
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Registry } from 'prom-client';
import {
  ApprovalConflictError,
  ApprovalNotFoundError,
  ApprovalQueryError,
  type ApprovalQueue,
} from '../approvals/index.js';
import { AuditQueryError } from '../audit/query.js';
import type { AuditSink } from '../audit/types.js';
import type { CompiledPolicy } from '../policy/types.js';
import type { Redaction } from '../secrets/redact.js';
import { type HostGuardRefusal, hostGuard } from '../util/index.js';
import { loadAssets } from './assets.js';
import type { WebAuth } from './auth.js';
import { createMetrics } from './metrics.js';
import { apiRoutes } from './routes/api.js';
import { pageRoutes } from './routes/pages.js';
import { securityHeaders, type WebEnv } from './security.js';
import { layout } from './views/layout.js';
import { messagePage, type PolicyStatus } from './views/pages.js';

export interface ReadyReport {
  ready: boolean;
  /** Named checks, e.g. { audit: { ok: true }, upstreams: { ok: false, detail: "payments down" } }. */
  checks?: Record<string, { ok: boolean; detail?: string | undefined }> | undefined;
}

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
}

export interface WebApp {
  app: Hono<WebEnv>;
  registry: Registry;
  /** Detach from the queue (live streams and metrics hooks). */
  close(): void;
}

/** Decisions, notes, sign-ins and dry-run checks are small; a megabyte leaves room for /api/check arguments. */
export const MAX_BODY_BYTES = 1024 * 1024;

const REFUSALS: Record<HostGuardRefusal, string> = {
  host: 'Host not allowed',
  origin: 'Origin not allowed',
  'cross-site': 'Cross-site request refused',
};

export function buildWebApp(options: WebAppOptions): WebApp {
  const allowedOrigins =
    options.allowedOrigins ?? (() => options.allowedHosts().map((host) => `http://${host}`));
  const assets = loadAssets();
  const metrics = createMetrics(options.queue, options.registry);
  const app = new Hono<WebEnv>();

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

  app.get('/assets/:name', (c) => {
    const asset = assets.get(c.req.param('name'));
    if (!asset) throw new HTTPException(404, { message: 'Not found' });
    c.header('Cache-Control', 'no-cache');
    return c.body(asset.body, 200, { 'Content-Type': asset.type });
  });

  app.get('/health/live', (c) => c.json({ status: 'ok' }));
  app.get('/health/ready', async (c) => {
    const checks: NonNullable<ReadyReport['checks']> = {};
    try {
      options.queue.store.countPending();
      checks.approvals = { ok: true };
    } catch (error) {
      checks.approvals = { ok: false, detail: (error as Error).message };
    }
    let ready = checks.approvals.ok;
    if (options.ready) {
      try {
        const report = await options.ready();
        Object.assign(checks, report.checks ?? {});
        ready = ready && report.ready;
      } catch (error) {
        checks.dependencies = { ok: false, detail: (error as Error).message };
        ready = false;
      }
    }
    return c.json({ status: ready ? 'ready' : 'not ready', checks }, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });

  app.route('/api', apiRoutes(options));
  app.route('/', pageRoutes(options));

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
    let status = 500;
    let message = 'Internal error';
    let extra: Record<string, unknown> = {};
    if (error instanceof HTTPException) {
      if (error.res) return error.res;
      status = error.status;
      message = error.message;
    } else if (error instanceof ApprovalNotFoundError) {
      status = 404;
      message = error.message;
    } else if (error instanceof AuditQueryError || error instanceof ApprovalQueryError) {
      status = 400;
      message = error.message;
      extra = { code: error.code };
    } else if (error instanceof ApprovalConflictError) {
      status = 409;
      message = error.message;
      extra = { status: error.status };
    } else {
      options.log?.(`web: ${c.req.method} ${c.req.path} failed: ${(error as Error).message}`);
    }
    if (status === 405) c.header('Allow', 'POST');
    if (c.req.path.startsWith('/api/') || !(c.req.header('accept') ?? '').includes('text/html')) {
      return c.json({ error: message, ...extra }, status as 400);
    }
    return c.html(
      layout({ title: 'Error', active: 'none', showPolicy: false }, messagePage(`${status}`, message)),
      status as 400,
    );
  });

  return { app, registry: metrics.registry, close: metrics.close };
}
