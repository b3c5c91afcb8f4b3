// Webhooks end to end: a real SDK client's review call through the real proxy makes a signed POST reach a real receiver; retries, refusals, hangs, audit events.

import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.js';
import { verifySignature } from '../../src/notify/index.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { type Answer, type Receiver, startReceiver } from './receiver.js';

const SECRET = 'whsec-test-0123456789abcdef';

function policyFor(url: string, extra = ''): string {
  return `version: 2
default: deny
approval: { timeout: 2m, max_hold: 100ms }
notifications:
  webhooks:
    - id: ops
      url: "${url}"
      events: [approval_pending, incident_opened, agent_suspended]
      secret: "\${WEBHOOK_SECRET}"
${extra}
rules:
  - { id: echo-waits, match: echo, decision: review, reason: "a person decides echo" }
  - { id: hang-runs, match: hang, decision: allow }
`;
}

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

async function receiver(answer?: (n: number) => Answer): Promise<Receiver> {
  const r = await startReceiver(answer);
  opened.push(r);
  return r;
}

/** The real proxy over HTTP with the UI on (for its link, /health/ready and /metrics) and short backoffs. */
async function proxy(
  policy: string,
  ui: number | 'off' = 0,
): Promise<{ app: App; client: Client; logs: string[]; dir: string }> {
  const dir = tempDir().dir;
  const policyFile = path.join(dir, 'policy.yml');
  await writeFile(policyFile, policy);
  const logs: string[] = [];
  const app = await startApp({
    policyFile,
    http: { host: '127.0.0.1', port: 0 },
    ui,
    dataDir: path.join(dir, 'data'),
    agent: 'anonymous',
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: {
      ...process.env,
      WEBHOOK_SECRET: SECRET,
      PORTCULLIS_UI_TOKEN: 'notify-test-token-0123456789abcdef',
    },
    upstreamTransport: inProcessFixtures(),
    notifications: { initialDelayMs: 10, maxDelayMs: 40, retryAfterCapMs: 300, closeDeadlineMs: 200 },
    log: (line) => logs.push(line),
  });
  const client = await httpClient(app.url as string);
  opened.push({
    async close() {
      await client.close().catch(() => {});
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  });
  return { app, client, logs, dir };
}

const textOf = (result: unknown): string =>
  ((result as { content: Array<{ text?: string }> }).content[0]?.text ?? '') as string;

describe('a review call notifies the webhook', () => {
  it('POSTs a signed Slack-compatible body naming the approval, linked to its card, without the arguments', async () => {
    const hook = await receiver();
    const { app, client } = await proxy(policyFor(hook.url));
    const result = await client.callTool({ name: 'echo', arguments: { note: 'card 4111-1111 top secret' } });
    expect(textOf(result)).toMatch(/waiting for a person/);
    const [pending] = app.approvals.queue.store.list({ status: 'pending' });
    const [request] = await waitFor(() => (hook.received.length > 0 ? hook.received : null), 'the webhook');
    if (!request || !pending) throw new Error('unreachable');

    const timestamp = request.headers['x-portcullis-timestamp'] as string;
    const sig = request.headers['x-portcullis-signature'] as string;
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature({ secret: SECRET, timestamp, signature: sig, body: request.body })).toBe(true);
    // Each part of the signature counts: another secret, another body, another timestamp, a replay later.
    expect(verifySignature({ secret: 'wrong-secret', timestamp, signature: sig, body: request.body })).toBe(
      false,
    );
    expect(
      verifySignature({
        secret: SECRET,
        timestamp,
        signature: sig,
        body: request.body.replace('echo', 'ech0'),
      }),
    ).toBe(false);
    expect(
      verifySignature({
        secret: SECRET,
        timestamp: String(Number(timestamp) + 1),
        signature: sig,
        body: request.body,
      }),
    ).toBe(false);
    expect(
      verifySignature({
        secret: SECRET,
        timestamp,
        signature: sig,
        body: request.body,
        nowS: Number(timestamp) + 3600,
      }),
    ).toBe(false);

    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-portcullis-event']).toBe('approval_pending');
    const body = request.json as unknown as {
      text: string;
      blocks: Array<{ type: string; text: { type: string; text: string } }>;
    };
    const link = `${app.web?.url}/approvals/${pending.id}`;
    expect(body.text).toContain(pending.id);
    expect(body.text).toContain('`fixture/echo`');
    expect(body.text).toContain('echo-waits');
    expect(body.text).toContain(`<${link}|Review it>`);
    expect(body.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: body.text } }]);
    expect(request.json.portcullis).toMatchObject({
      event: 'approval_pending',
      approval_id: pending.id,
      tool: 'echo',
      server: 'fixture',
      agent: 'anonymous',
      rule: 'echo-waits',
      args_sha256: pending.argsSha256,
      url: link,
      delivery_id: request.headers['x-portcullis-delivery'],
    });
    // The whole card fragment: '4111' alone turns up in a random delivery id now and then.
    expect(request.body).not.toContain('4111-1111');
    expect(request.body).not.toContain('top secret');
    await waitFor(() => app.notifier.status()[0]?.delivered === 1, 'the delivery to be counted');
  });

  it('retries a 500 with backoff and delivers once: three attempts, one delivery id, counted in /metrics', async () => {
    const hook = await receiver((n) => (n < 2 ? 500 : 200));
    const { app, client } = await proxy(policyFor(hook.url));
    await client.callTool({ name: 'echo', arguments: { note: 'retry me' } });
    await waitFor(() => app.notifier.status()[0]?.delivered === 1, 'the delivery');
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.headers['x-portcullis-delivery'])).size).toBe(1);
    expect(hook.received.map((r) => r.headers['x-portcullis-attempt'])).toEqual(['1', '2', '3']);
    // Every attempt is signed with its own timestamp, and verifies.
    for (const r of hook.received)
      expect(
        verifySignature({
          secret: SECRET,
          timestamp: r.headers['x-portcullis-timestamp'] as string,
          signature: r.headers['x-portcullis-signature'] as string,
          body: r.body,
        }),
      ).toBe(true);
    const status = app.notifier.status()[0];
    expect(status).toMatchObject({ delivered: 1, failed: 0, dropped: 0, queued: 0, failing: false });
    expect(status?.lastSuccess).not.toBeNull();
    const metrics = await (await fetch(`${app.web?.url}/metrics`)).text();
    expect(metrics).toContain('portcullis_webhook_deliveries_total{webhook="ops",outcome="delivered"} 1');
    expect(metrics).toContain('portcullis_webhook_queue{webhook="ops"} 0');
    const ready = await fetch(`${app.web?.url}/health/ready`);
    expect(((await ready.json()) as { checks: Record<string, unknown> }).checks.notifications).toEqual({
      ok: true,
    });
  });

  it('does not retry a 400: the failure shows in status, /health/ready (still ready) and /metrics', async () => {
    const hook = await receiver(() => 400);
    const { app, client, logs } = await proxy(policyFor(hook.url));
    await client.callTool({ name: 'echo', arguments: { note: 'refused' } });
    await waitFor(() => app.notifier.status()[0]?.failed === 1, 'the failure');
    expect(hook.received).toHaveLength(1);
    const status = app.notifier.status()[0];
    expect(status?.lastFailure).toMatchObject({ error: 'HTTP 400', attempts: 1 });
    expect(status?.failing).toBe(true);

    const ready = await fetch(`${app.web?.url}/health/ready`);
    // A chat service refusing us is not a reason to stop deciding calls: ready, with the check failing.
    expect(ready.status).toBe(200);
    const report = (await ready.json()) as {
      status: string;
      checks: Record<string, { ok: boolean; detail?: string }>;
    };
    expect(report.status).toBe('ready');
    expect(report.checks.notifications?.ok).toBe(false);
    expect(report.checks.notifications?.detail).toMatch(/webhook ops: last delivery failed .*HTTP 400/);
    const metrics = await (await fetch(`${app.web?.url}/metrics`)).text();
    expect(metrics).toContain('portcullis_webhook_deliveries_total{webhook="ops",outcome="failed"} 1');
    // The log names the webhook, never its URL or secret.
    const line = logs.find((l) => l.includes('webhook ops'));
    expect(line).toMatch(/failed after 1 attempt: HTTP 400/);
    expect(logs.join('\n')).not.toContain(hook.url);
    expect(logs.join('\n')).not.toContain(SECRET);
  });

  it('a receiver that never answers does not hold up the call', async () => {
    const hook = await receiver(() => 'hang');
    const { app, client } = await proxy(
      policyFor(hook.url).replace('events:', 'timeout: 60s\n      events:'),
    );
    const result = await client.callTool({ name: 'echo', arguments: { note: 'slow receiver' } });
    // The call has its answer while the webhook request is still open on the receiver.
    expect(textOf(result)).toMatch(/waiting for a person/);
    await waitFor(() => hook.hanging() === 1, 'the webhook request to arrive');
    // A second review call behind it is not held up either: its notification waits in the queue.
    const second = await client.callTool({ name: 'echo', arguments: { note: 'behind it' } });
    expect(textOf(second)).toMatch(/waiting for a person/);
    expect(hook.hanging()).toBe(1);
    expect(app.notifier.status()[0]).toMatchObject({ queued: 2, delivered: 0, failed: 0 });
    // Closing the proxy does not wait for the receiver either: a short flush, then both are dropped.
    const started = Date.now();
    await app.close();
    // (The attempt's own timeout is 60 s.)
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(app.notifier.status()[0]).toMatchObject({ queued: 0, dropped: 2, delivered: 0 });
  });

  it('an allowed call is not notified; a second approval is', async () => {
    const hook = await receiver();
    const { client } = await proxy(policyFor(hook.url));
    await client.callTool({ name: 'echo', arguments: { note: 'one' } });
    await client.callTool({ name: 'echo', arguments: { note: 'two' } });
    await waitFor(() => hook.received.length === 2, 'two notifications');
    const ids = hook.received.map((r) => r.json.portcullis.approval_id);
    expect(new Set(ids).size).toBe(2);
  });
});

describe('incidents and suspensions in the audit log notify the webhook', () => {
  it('an incident opened and an agent suspended each POST; other actions do not', async () => {
    const hook = await receiver();
    const { app } = await proxy(policyFor(hook.url));
    await app.audit.append({
      event: 'incident',
      action: 'acknowledged',
      incident: 'inc_0',
      severity: 'high',
      type: 'rule_denial',
      by: 'alice',
      agent: 'support-bot',
    });
    await app.audit.append({
      event: 'incident',
      action: 'opened',
      incident: 'inc_1',
      severity: 'high',
      type: 'rule_denial',
      by: 'portcullis',
      agent: 'support-bot',
      reason: 'denied by rule no-refunds',
    });
    await app.audit.append({ event: 'agent', action: 'trust_changed', by: 'alice', agent: 'support-bot' });
    await app.audit.append({
      event: 'agent',
      action: 'suspended',
      by: 'portcullis',
      agent: 'support-bot',
      incident: 'inc_1',
      reason: '3 high incidents within 10m',
    });
    await waitFor(() => app.notifier.status()[0]?.delivered === 2, 'two deliveries');
    expect(hook.received.map((r) => r.json.portcullis.event)).toEqual(['incident_opened', 'agent_suspended']);
    const [incident, suspended] = hook.received;
    expect(incident?.json.portcullis).toMatchObject({
      incident: 'inc_1',
      severity: 'high',
      type: 'rule_denial',
      agent: 'support-bot',
      by: 'portcullis',
      reason: 'denied by rule no-refunds',
      url: `${app.web?.url}/audit?event=incident&agent=support-bot`,
    });
    expect(incident?.json.text).toContain(
      'Incident `inc_1` opened (high, rule_denial) for agent `support-bot`',
    );
    expect(suspended?.json.portcullis).toMatchObject({
      agent: 'support-bot',
      incident: 'inc_1',
      by: 'portcullis',
    });
    expect(suspended?.json.text).toContain(
      'Agent `support-bot` was suspended (incident `inc_1`) by portcullis',
    );
    for (const r of hook.received)
      expect(
        verifySignature({
          secret: SECRET,
          timestamp: r.headers['x-portcullis-timestamp'] as string,
          signature: r.headers['x-portcullis-signature'] as string,
          body: r.body,
        }),
      ).toBe(true);
  });

  it('escapes names so an agent cannot ping a channel or forge a link in Slack', async () => {
    const hook = await receiver();
    const { app } = await proxy(policyFor(hook.url));
    await app.audit.append({
      event: 'agent',
      action: 'suspended',
      by: 'portcullis',
      agent: '<!channel> <https://evil.example|Approve> & `x',
      reason: '<@U123>',
    });
    await waitFor(() => hook.received.length === 1, 'the webhook');
    const text = hook.received[0]?.json.text as string;
    expect(text).not.toMatch(/<!channel>|<https:\/\/evil|<@U123>/);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&amp;');
    // The structured fields keep the name as it is: a receiver's own code decides how to show it.
    expect(hook.received[0]?.json.portcullis.agent).toBe('<!channel> <https://evil.example|Approve> & `x');
  });

  it('sends each webhook only the events it asked for', async () => {
    const all = await receiver();
    const only = await receiver();
    const { app } = await proxy(
      policyFor(all.url).replace(
        'rules:',
        `    - { id: pager, url: "${only.url}", events: [agent_suspended], secret: "\${WEBHOOK_SECRET}", format: json }\nrules:`,
      ),
    );
    await app.audit.append({
      event: 'incident',
      action: 'opened',
      incident: 'inc_9',
      severity: 'low',
      type: 'manual',
      by: 'bob',
    });
    await app.audit.append({ event: 'agent', action: 'suspended', by: 'bob', agent: 'a1' });
    await waitFor(() => all.received.length === 2 && only.received.length === 1, 'the deliveries');
    expect(only.received[0]?.json.portcullis.event).toBe('agent_suspended');
    // format: json carries only our fields.
    expect(Object.keys(only.received[0]?.json ?? {})).toEqual(['portcullis']);
  });
});

describe('a policy reload', () => {
  it('applies new webhook settings, and a disabled webhook shows on the Policy page and /health/ready', async () => {
    const before = await receiver();
    const after = await receiver();
    const { app, dir } = await proxy(policyFor(before.url));
    await writeFile(
      path.join(dir, 'policy.yml'),
      policyFor(after.url)
        .replace('events: [approval_pending, incident_opened, agent_suspended]', 'events: [agent_suspended]')
        .replace(
          'rules:',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what is expanded
          '    - { id: broken, url: "https://hooks.example.com/x", events: [agent_suspended], secret: "${NOT_SET_ANYWHERE}" }\nrules:',
        ),
    );
    await waitFor(() => app.notifier.status().length === 2, 'the reload');
    expect(app.notifier.status().map((s) => [s.id, s.enabled, s.events])).toEqual([
      ['ops', true, ['agent_suspended']],
      ['broken', false, ['agent_suspended']],
    ]);
    await app.audit.append({
      event: 'incident',
      action: 'opened',
      incident: 'inc_2',
      severity: 'low',
      type: 'manual',
      by: 'bob',
    });
    await app.audit.append({ event: 'agent', action: 'suspended', by: 'bob', agent: 'a2' });
    await waitFor(() => after.received.length === 1, 'the delivery to the new URL');
    expect(after.received[0]?.json.portcullis.event).toBe('agent_suspended');
    expect(before.received).toHaveLength(0);

    const policy = await fetch(`${app.web?.url}/api/policy`, {
      headers: { authorization: 'Bearer notify-test-token-0123456789abcdef' },
    });
    const { warnings } = (await policy.json()) as { warnings: string[] };
    expect(warnings).toContainEqual(
      'notifications webhook broken: secret: environment variable NOT_SET_ANYWHERE is not set; the webhook is disabled',
    );
    const ready = await fetch(`${app.web?.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: Record<string, unknown> }).checks.notifications).toEqual({
      ok: false,
      detail: 'webhook broken: disabled',
    });
  });
});

describe('without a UI', () => {
  it('the MCP port serves the webhook check and metrics, and notifications carry no link', async () => {
    const hook = await receiver(() => 400);
    const { app, client } = await proxy(policyFor(hook.url), 'off');
    await client.callTool({ name: 'echo', arguments: { note: 'no ui' } });
    await waitFor(() => app.notifier.status()[0]?.failed === 1, 'the failure');
    expect(hook.received[0]?.json.portcullis.url).toBeNull();
    expect(hook.received[0]?.json.text).not.toContain('<http');
    const base = new URL(app.url as string).origin;
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(200);
    expect(
      ((await ready.json()) as { checks: Record<string, { ok: boolean }> }).checks.notifications?.ok,
    ).toBe(false);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('portcullis_webhook_deliveries_total{webhook="ops",outcome="failed"} 1');
  });
});
