// Routes that need no sign-in: the UI's static files, liveness and readiness, and Prometheus metrics.
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Registry } from 'prom-client';
import type { Asset } from '../assets.js';
import { CHALLENGE } from '../instance.js';
import type { WebEnv } from '../security.js';

export interface ReadyReport {
  ready: boolean;
  /** Named checks, e.g. { audit: { ok: true }, upstreams: { ok: false, detail: "payments down" } }. */
  checks?: Record<string, { ok: boolean; detail?: string | undefined }> | undefined;
}

export interface PublicDeps {
  assets: ReadonlyMap<string, Asset>;
  /** Throws when the approvals database cannot be read (a readiness check of its own). */
  checkStore(): void;
  /** Readiness of the things the proxy depends on (audit log, upstreams). */
  ready?: (() => ReadyReport | Promise<ReadyReport>) | undefined;
  registry: Registry;
  /** Answers a challenge with proof of which data dir this UI serves (see web/instance.ts). */
  instanceProof?: ((challenge: string) => string) | undefined;
}

/** The store's check, then the dependencies' report; any failure makes the whole 503. */
async function readiness({ checkStore, ready }: Omit<PublicDeps, 'assets'>): Promise<ReadyReport> {
  const checks: NonNullable<ReadyReport['checks']> = {};
  try {
    checkStore();
    checks.approvals = { ok: true };
  } catch (error) {
    checks.approvals = { ok: false, detail: (error as Error).message };
  }
  let ok = checks.approvals.ok;
  if (ready) {
    try {
      const report = await ready();
      Object.assign(checks, report.checks ?? {});
      ok = ok && report.ready;
    } catch (error) {
      checks.dependencies = { ok: false, detail: (error as Error).message };
      ok = false;
    }
  }
  return { ready: ok, checks };
}

export function publicRoutes(deps: PublicDeps): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  routes.get('/assets/:name', (c) => {
    const asset = deps.assets.get(c.req.param('name'));
    if (!asset) throw new HTTPException(404, { message: 'Not found' });
    c.header('Cache-Control', 'no-cache');
    return c.body(asset.body, 200, { 'Content-Type': asset.type });
  });
  routes.route('/', healthRoutes(deps));
  return routes;
}

/** Liveness, readiness, the instance proof and metrics: what the MCP port serves too when the UI is off. */
export function healthRoutes(deps: Omit<PublicDeps, 'assets'>): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  routes.get('/health/live', (c) => c.json({ status: 'ok' }));
  routes.get('/health/instance', (c) => {
    const challenge = c.req.query('challenge') ?? '';
    if (!deps.instanceProof || !CHALLENGE.test(challenge))
      throw new HTTPException(404, { message: 'Not found' });
    return c.json({ proof: deps.instanceProof(challenge) });
  });
  routes.get('/health/ready', async (c) => {
    const { ready, checks } = await readiness(deps);
    return c.json({ status: ready ? 'ready' : 'not ready', checks }, ready ? 200 : 503);
  });

  routes.get('/metrics', async (c) => {
    c.header('Content-Type', deps.registry.contentType);
    return c.body(await deps.registry.metrics());
  });
  return routes;
}
