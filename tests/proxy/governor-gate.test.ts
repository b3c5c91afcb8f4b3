// The gate's side of the governance seam: standing before the policy, admission after it, and every
// admission ended exactly once, so a call that never ran gives its booking back.
import type { Result } from '@modelcontextprotocol/sdk/types.js';
import { expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/index.js';
import type { Decision } from '../../src/policy/index.js';
import { Gate, type Governor, type Standing } from '../../src/proxy/index.js';
import type { ReviewVerdict } from '../../src/proxy/review.js';
import { policyFrom } from '../policy/helpers.js';

const POLICY = policyFrom(`version: 2
agents:
  - { id: file-agent, trust: low }
rules:
  - { id: trusted-only, match: wire, trust_at_least: high, decision: allow }
  - { id: held, match: refund, decision: review }
  - { id: open, match: echo, decision: allow }
  - { id: never, match: drop, decision: deny }
`);

interface Recorder {
  gate: Gate;
  events: AuditEvent[];
  forwarded: unknown[];
  ends: boolean[];
  decided: Decision[];
}

function setUp(
  governor: Partial<Governor>,
  verdict: () => ReviewVerdict = () => ({ kind: 'run', args: {} }),
  audit: { fail?: boolean } = {},
): Recorder {
  const events: AuditEvent[] = [];
  const ends: boolean[] = [];
  const decided: Decision[] = [];
  const full: Governor = {
    standing: () => ({}),
    admit: (_call, decision) => ({ decision, release: () => undefined, end: (ran) => ends.push(ran) }),
    decided: (call) => decided.push(call.decision),
    subscribe: () => () => {},
    ...governor,
  };
  const gate = new Gate({
    policy: () => POLICY,
    audit: {
      append: async (event) => {
        if (audit.fail) throw new Error('disk full');
        events.push(event);
        return { ...event, seq: events.length, ts: '', prev: '', hash: '' };
      },
    },
    review: { review: async () => verdict() },
    governor: full,
    log: () => {},
  });
  return { gate, events, forwarded: [], ends, decided };
}

function call(r: Recorder, tool: string, agent = 'bot') {
  return {
    agent,
    server: 'up',
    tool,
    args: { amount: 5 },
    signal: new AbortController().signal,
    forward: async (args: unknown): Promise<Result> => {
      r.forwarded.push(args);
      return { content: [{ type: 'text', text: 'ran' }] };
    },
  };
}

const text = (result: Result) => (result as { content: { text: string }[] }).content[0]?.text ?? '';

it('a suspended agent runs nothing, whatever the policy allows, and the denial is recorded with the reason', async () => {
  const r = setUp({ standing: () => ({ suspended: 'agent suspended: inc_1: three denials' }) });
  const result = await r.gate.call(call(r, 'echo'));
  expect(result.isError).toBe(true);
  expect(text(result)).toContain('agent suspended: inc_1: three denials');
  expect(r.forwarded).toEqual([]);
  expect(r.events).toMatchObject([{ event: 'decision', decision: 'deny', rule: null }]);
});

it("the registry's trust decides trust rules, over the policy file's; without it the file's applies", async () => {
  let trust: Standing = { trust: 'high' };
  const r = setUp({ standing: () => trust });
  expect((await r.gate.call(call(r, 'wire', 'file-agent'))).isError).toBeUndefined();
  trust = {};
  const denied = await r.gate.call(call(r, 'wire', 'file-agent'));
  expect(denied.isError).toBe(true);
  expect(r.forwarded).toHaveLength(1);
});

it('a registry that throws denies the call (closed)', async () => {
  const r = setUp({
    standing: () => {
      throw new Error('database is locked');
    },
  });
  const result = await r.gate.call(call(r, 'echo'));
  expect(text(result)).toContain('the agent registry cannot be read');
  expect(r.forwarded).toEqual([]);
});

it('a limit that denies is what the client gets, with the breach told to governance and the record carrying the numbers', async () => {
  const breaches: unknown[] = [];
  const r = setUp({
    admit: (_call, decision) => ({
      decision: { ...decision, decision: 'deny', rule: 'per-agent', reason: 'rate limit: retry in 12 s' },
      breach: { kind: 'rate', id: 'per-agent', reason: 'rate limit: retry in 12 s' },
      record: { limit: { id: 'per-agent', used: 10, max: 10 } },
      release: () => undefined,
      end: () => {},
    }),
    decided: (c) => breaches.push(c.breach),
  });
  const result = await r.gate.call(call(r, 'echo'));
  expect(text(result)).toContain('retry in 12 s');
  expect(r.forwarded).toEqual([]);
  expect(r.events[0]).toMatchObject({ decision: 'deny', limit: { id: 'per-agent', used: 10 } });
  expect(breaches).toEqual([{ kind: 'rate', id: 'per-agent', reason: 'rate limit: retry in 12 s' }]);
});

it('a policy deny is never admitted (it books nothing), and an admission never widens it', async () => {
  let admitted = 0;
  const r = setUp({
    admit: (_call, _decision) => {
      admitted += 1;
      return { decision: { ..._decision, decision: 'allow' }, release: () => undefined, end: () => {} };
    },
  });
  const result = await r.gate.call(call(r, 'drop'));
  expect(result.isError).toBe(true);
  expect(admitted).toBe(0);
  expect(r.forwarded).toEqual([]);
});

it('an allowed call ends its admission once, as ran; a call whose record cannot be written ends it as not ran', async () => {
  const r = setUp({});
  await r.gate.call(call(r, 'echo'));
  expect(r.ends).toEqual([true]);
  const broken = setUp({}, undefined, { fail: true });
  const result = await broken.gate.call(call(broken, 'echo'));
  expect(result.isError).toBe(true);
  expect(broken.forwarded).toEqual([]);
  expect(broken.ends).toEqual([false]);
  expect(broken.decided).toEqual([]);
});

it('a reviewed call is booked only when its approval runs it; a release that refuses runs nothing and is recorded', async () => {
  let released = 0;
  const ends: boolean[] = [];
  const refusing = setUp({
    admit: (_call, decision) => ({
      decision,
      release: () => {
        released += 1;
        return 'budget refunds-per-day: 1,950 of 2,000 used, this call is 100';
      },
      end: (ran) => ends.push(ran),
    }),
  });
  const result = await refusing.gate.call(call(refusing, 'refund'));
  expect(released).toBe(1);
  expect(text(result)).toContain('budget refunds-per-day');
  expect(refusing.forwarded).toEqual([]);
  expect(refusing.events.at(-1)).toMatchObject({ event: 'approval', status: 'refused' });
  expect(ends).toEqual([false]);

  const approved = setUp({});
  await approved.gate.call(call(approved, 'refund'));
  expect(approved.forwarded).toHaveLength(1);
  expect(approved.ends).toEqual([true]);
});

it('a reviewed call that is denied or answered "pending" ends its admission as not ran', async () => {
  const denied = setUp({}, () => ({ kind: 'deny', cause: 'denied', reason: 'no' }));
  await denied.gate.call(call(denied, 'refund'));
  const pending = setUp({}, () => ({ kind: 'respond', text: 'pending ap_1, retry' }));
  await pending.gate.call(call(pending, 'refund'));
  expect(denied.ends).toEqual([false]);
  expect(pending.ends).toEqual([false]);
  expect([...denied.forwarded, ...pending.forwarded]).toEqual([]);
});

it('a suspended agent cannot read resources or get prompts either', async () => {
  const r = setUp({ standing: () => ({ suspended: 'agent suspended: inc_2' }) });
  let forwarded = 0;
  await expect(
    r.gate.access({
      kind: 'resource',
      method: 'resources/read',
      agent: 'bot',
      server: 'up',
      name: 'file:///etc/hosts',
      forward: async () => {
        forwarded += 1;
        return {};
      },
    }),
  ).rejects.toThrow(/agent suspended: inc_2/);
  expect(forwarded).toBe(0);
});
