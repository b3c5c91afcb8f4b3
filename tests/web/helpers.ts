// A real web app over a real SQLite-backed queue, plus helpers to sign in the way a browser does.
import { join } from 'node:path';
import { ApprovalQueue, type ApprovalQueueOptions, ApprovalStore } from '../../src/approvals/index.js';
import type { ReviewRequest } from '../../src/proxy/index.js';
import { buildWebApp, type WebApp, type WebAppOptions, WebAuth } from '../../src/web/index.js';
import { idOf } from '../approvals/helpers.js';
import { tempDir } from '../helpers/temp.js';

export const HOST = '127.0.0.1:8787';
export const BASE = `http://${HOST}`;
export const TOKEN = 'test-admin-token-0123456789abcdef';

export interface Harness {
  dir: string;
  store: ApprovalStore;
  queue: ApprovalQueue;
  auth: WebAuth;
  web: WebApp;
  logs: string[];
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): void;
}

export function harness(
  extra: Partial<WebAppOptions> = {},
  queueOptions: Partial<ApprovalQueueOptions> = {},
): Harness {
  const tmp = tempDir('portcullis-web-');
  const store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  const queue = new ApprovalQueue({ store, uiUrl: () => BASE, pollIntervalMs: 50, ...queueOptions });
  const auth = new WebAuth({ token: TOKEN, db: store.db });
  const logs: string[] = [];
  const web = buildWebApp({
    queue,
    auth,
    allowedHosts: () => [HOST, 'localhost:8787'],
    log: (line) => logs.push(line),
    ...extra,
  });
  return {
    dir: tmp.dir,
    store,
    queue,
    auth,
    web,
    logs,
    request: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has('host')) headers.set('host', HOST);
      return Promise.resolve(
        web.app.request(path.startsWith('http') ? path : `${BASE}${path}`, { ...init, headers }),
      );
    },
    close() {
      web.close();
      queue.close();
      store.close();
      tmp.cleanup();
    },
  };
}

/** Park a call that cannot wait: a pending approval, created through the real queue. */
export async function park(h: Harness, overrides: Partial<ReviewRequest> = {}): Promise<string> {
  const outcome = await h.queue.review({
    agent: 'support-bot',
    server: 'payments',
    tool: 'refunds.refund',
    args: { amount_cents: 20000, op: 'refund' },
    rule: 'fallback',
    reason: 'Refunds over $150 need a person',
    canWait: false,
    ...overrides,
  });
  return idOf(outcome);
}

export function form(fields: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: BASE },
    body: new URLSearchParams(fields).toString(),
  };
}

export function bearer(init: RequestInit = {}, token = TOKEN): RequestInit {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return { ...init, headers };
}

/** Sign in with a one-time code, as the login page's form does; returns the cookie and CSRF token. */
export async function signIn(h: Harness, reviewer = 'alice'): Promise<{ cookie: string; csrf: string }> {
  const code = new URL(h.auth.loginUrl(BASE)).searchParams.get('code') ?? '';
  const res = await h.request('/login', form({ code, reviewer }));
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  const page = await (await h.request('/', { headers: { cookie } })).text();
  const csrf = /data-csrf="([^"]+)"/.exec(page)?.[1];
  if (!csrf) throw new Error('no CSRF token on the page');
  return { cookie, csrf };
}
