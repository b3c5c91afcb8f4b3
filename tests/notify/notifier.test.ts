// The notifier against a real receiver: closed settings (missing secret, plain http), the bounded queue, Retry-After, redirects, close.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Notification, Notifier, retryAfterMs, verifySignature } from '../../src/notify/index.js';
import type { NotificationSettings, WebhookConfig } from '../../src/policy/index.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { type Answer, type Receiver, startReceiver } from './receiver.js';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

async function receiver(answer?: (n: number) => Answer): Promise<Receiver> {
  const r = await startReceiver(answer);
  opened.push(r);
  return r;
}

function notifier(env: NodeJS.ProcessEnv = {}, timings = {}): { notifier: Notifier; logs: string[] } {
  const logs: string[] = [];
  const n = new Notifier({
    env,
    uiUrl: () => 'http://127.0.0.1:8787',
    log: (line) => logs.push(line),
    timings: { initialDelayMs: 5, maxDelayMs: 20, retryAfterCapMs: 300, closeDeadlineMs: 500, ...timings },
  });
  opened.push(n);
  return { notifier: n, logs };
}

function hook(url: string, extra: Partial<WebhookConfig> = {}): NotificationSettings {
  return {
    webhooks: [
      {
        id: 'ops',
        url,
        events: ['agent_suspended'],
        secret: 's3cret',
        format: 'slack',
        timeoutMs: 5_000,
        ...extra,
      },
    ],
  };
}

let seq = 0;
const suspended = (agent = 'a1'): Notification => ({
  event: 'agent_suspended',
  agent,
  incident: null,
  by: 'portcullis',
  reason: null,
  audit_seq: ++seq,
  at: new Date().toISOString(),
});

describe('webhook settings fail closed', () => {
  it('a secret whose variable is not set disables the webhook: nothing is sent, unsigned or otherwise', async () => {
    const r = await receiver();
    const { notifier: n, logs } = notifier({});
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what is expanded
    n.configure(hook(r.url, { secret: '${WEBHOOK_SECRET}' }));
    n.notify(suspended());
    expect(n.status()[0]).toMatchObject({ id: 'ops', enabled: false, failing: true });
    expect(n.warnings()[0]).toMatch(
      /webhook ops: secret: environment variable WEBHOOK_SECRET is not set; the webhook is disabled/,
    );
    expect(n.check()).toMatchObject({ ok: false, detail: 'webhook ops: disabled' });
    expect(logs).toEqual(n.warnings());
    // An empty variable is no key either.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what is expanded
    n.configure(hook(r.url, { secret: '${EMPTY}' }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(r.received).toHaveLength(0);
  });

  it('a secret set later (a reload) enables it, signed with the value', async () => {
    const r = await receiver();
    const env: NodeJS.ProcessEnv = {};
    const { notifier: n } = notifier(env);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what is expanded
    const settings = hook(r.url, { secret: '${WEBHOOK_SECRET}' });
    n.configure(settings);
    env.WEBHOOK_SECRET = 'from-env';
    n.configure(settings);
    n.notify(suspended());
    const [got] = await waitFor(() => (r.received.length ? r.received : null), 'the delivery');
    expect(
      verifySignature({
        secret: 'from-env',
        timestamp: got?.headers['x-portcullis-timestamp'] as string,
        signature: got?.headers['x-portcullis-signature'] as string,
        body: got?.body ?? '',
      }),
    ).toBe(true);
  });

  it('a variable URL that expands to plain http:// on another host is disabled; the URL is never in the warning', () => {
    const { notifier: n } = notifier({ HOOK: 'http://hooks.example.com/services/T0/B0/tokenvalue' });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what is expanded
    n.configure(hook('${HOOK}'));
    expect(n.warnings()[0]).toMatch(/plain http:\/\/ to hooks\.example\.com, which is not this machine/);
    expect(n.warnings()[0]).not.toContain('tokenvalue');
    for (const url of ['http://localhost@evil.example/x', 'http://127.0.0.1.evil.example/']) {
      n.configure(hook(url));
      expect(n.status()[0]?.enabled).toBe(false);
    }
  });

  it('without a secret it sends unsigned (the policy load warns about that)', async () => {
    const r = await receiver();
    const { notifier: n } = notifier();
    n.configure(hook(r.url, { secret: undefined }));
    n.notify(suspended());
    const [got] = await waitFor(() => (r.received.length ? r.received : null), 'the delivery');
    expect(got?.headers['x-portcullis-signature']).toBeUndefined();
    expect(got?.headers['x-portcullis-timestamp']).toBeDefined();
  });
});

describe('delivery', () => {
  it('a full queue drops the oldest waiting notification and counts it; the newest go out', async () => {
    const r = await receiver((n) => (n === 0 ? 'hang' : 200));
    const { notifier: n, logs } = notifier({}, { queueSize: 2 });
    n.configure(hook(r.url));
    for (const agent of ['a1', 'a2', 'a3', 'a4', 'a5']) n.notify(suspended(agent));
    expect(n.status()[0]).toMatchObject({ queued: 3, dropped: 2 });
    expect(logs.join('\n')).toMatch(
      /webhook ops: its queue is full: the oldest waiting notification was dropped/,
    );
    await waitFor(() => r.hanging() === 1, 'the first request');
    r.release();
    await waitFor(() => n.status()[0]?.delivered === 3, 'the rest');
    expect(r.received.map((x) => x.json.portcullis.agent)).toEqual(['a1', 'a4', 'a5']);
  });

  it('honours a 429 Retry-After (within the cap) before the next attempt', async () => {
    const r = await receiver((n) => (n === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : 200));
    const { notifier: n } = notifier({}, { retryAfterCapMs: 5_000 });
    n.configure(hook(r.url));
    n.notify(suspended());
    await waitFor(() => n.status()[0]?.delivered === 1, 'the delivery');
    const [first, second] = r.received;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('caps a Retry-After that asks for an hour', async () => {
    const r = await receiver((n) => (n === 0 ? { status: 503, headers: { 'Retry-After': '3600' } } : 200));
    const { notifier: n } = notifier({}, { retryAfterCapMs: 100 });
    n.configure(hook(r.url));
    n.notify(suspended());
    await waitFor(() => n.status()[0]?.delivered === 1, 'the delivery', 5_000);
    expect(r.received).toHaveLength(2);
  });

  it('gives up after the last retry and says so', async () => {
    const r = await receiver(() => 502);
    const { notifier: n } = notifier({}, { retries: 2 });
    n.configure(hook(r.url));
    n.notify(suspended());
    await waitFor(() => n.status()[0]?.failed === 1, 'the failure');
    expect(r.received).toHaveLength(3);
    expect(n.status()[0]?.lastFailure).toMatchObject({ error: 'HTTP 502', attempts: 3 });
  });

  it('retries a connection that is refused, then a receiver that comes up is reached', async () => {
    const gone = await startReceiver();
    await gone.close();
    const { notifier: n } = notifier({}, { retries: 1 });
    n.configure(hook(gone.url));
    n.notify(suspended());
    await waitFor(() => n.status()[0]?.failed === 1, 'the failure');
    expect(n.status()[0]?.lastFailure).toMatchObject({ error: 'ECONNREFUSED', attempts: 2 });
    const r = await receiver();
    n.configure(hook(r.url));
    n.notify(suspended());
    await waitFor(() => n.status()[0]?.delivered === 1, 'the delivery');
    // A success after the failure: no longer failing.
    expect(n.check()).toEqual({ ok: true });
  });

  it('times an attempt out and retries it', async () => {
    const r = await receiver((n) => (n === 0 ? 'hang' : 200));
    const { notifier: n } = notifier();
    n.configure(hook(r.url, { timeoutMs: 200 }));
    n.notify(suspended());
    await waitFor(() => n.status()[0]?.delivered === 1, 'the delivery');
    expect(r.received.map((x) => x.headers['x-portcullis-attempt'])).toEqual(['1', '2']);
  });

  it('does not follow a redirect (the signed body could be led anywhere)', async () => {
    const elsewhere = await receiver();
    const r = await receiver(() => ({ status: 307, headers: { Location: elsewhere.url } }));
    const { notifier: n } = notifier();
    n.configure(hook(r.url));
    n.notify(suspended());
    await waitFor(() => n.status()[0]?.failed === 1, 'the failure');
    expect(n.status()[0]?.lastFailure?.error).toBe('HTTP 307: redirects are not followed');
    expect(elsewhere.received).toHaveLength(0);
  });

  it('close() sends what is queued when the receiver answers, and takes no more', async () => {
    const r = await receiver();
    const { notifier: n } = notifier();
    n.configure(hook(r.url));
    n.notify(suspended('b1'));
    n.notify(suspended('b2'));
    await n.close();
    expect(r.received.map((x) => x.json.portcullis.agent)).toEqual(['b1', 'b2']);
    n.notify(suspended('b3'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(r.received).toHaveLength(2);
  });

  it('a removed webhook (a reload) is sent nothing more', async () => {
    const r = await receiver();
    const { notifier: n } = notifier();
    n.configure(hook(r.url));
    n.configure({ webhooks: [] });
    n.notify(suspended());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(r.received).toHaveLength(0);
    expect(n.status()).toEqual([]);
    expect(n.check()).toBeUndefined();
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates, and nothing else', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs(null, 0)).toBeUndefined();
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs('-5', 0)).toBeUndefined();
  });
});

describe("the README's receiver snippet", () => {
  it('accepts a real signed delivery and refuses a wrong secret, a changed body and an old timestamp', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const snippet = /A receiver verifies like this[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    if (snippet === undefined) throw new Error('the README has no receiver snippet');
    const file = path.join(tempDir().dir, 'verify.mjs');
    writeFileSync(file, `${snippet.replace(/^ {2}/gm, '')}\nexport { verified };\n`);
    const { verified } = (await import(pathToFileURL(file).href)) as {
      verified(body: string, headers: Record<string, unknown>, secret: string): boolean;
    };
    const r = await receiver();
    const { notifier: n } = notifier();
    n.configure(hook(r.url));
    n.notify(suspended());
    const [got] = await waitFor(() => (r.received.length ? r.received : null), 'the delivery');
    if (!got) throw new Error('unreachable');
    expect(verified(got.body, got.headers, 's3cret')).toBe(true);
    expect(verified(got.body, got.headers, 'other')).toBe(false);
    expect(verified(`${got.body} `, got.headers, 's3cret')).toBe(false);
    expect(verified(got.body, { ...got.headers, 'x-portcullis-timestamp': '1000' }, 's3cret')).toBe(false);
    expect(verified(got.body, { ...got.headers, 'x-portcullis-signature': undefined }, 's3cret')).toBe(false);
  });
});
