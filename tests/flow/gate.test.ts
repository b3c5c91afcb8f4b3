// The gate's flow step on its own: a flow check that throws holds the call (closed), and a result blocked by results: is not remembered.
import type { Result } from '@modelcontextprotocol/sdk/types.js';
import { expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/index.js';
import { FlowMemory } from '../../src/flow/index.js';
import type { CompiledPolicy } from '../../src/policy/index.js';
import { Gate } from '../../src/proxy/index.js';
import { policyFrom } from '../policy/helpers.js';

const POLICY = `version: 2
rules:
  - { id: read, match: read, server: vault, decision: allow, sensitive: true, results: { secrets: block } }
  - { id: send, match: send, decision: allow }
`;

function gate(policy: CompiledPolicy, flow: FlowMemory) {
  const events: AuditEvent[] = [];
  const forwarded: string[] = [];
  const reviewed: string[] = [];
  const g = new Gate({
    policy: () => policy,
    audit: {
      append: async (event) => {
        events.push(event);
        return { ...event, seq: events.length, ts: '', prev: '', hash: '' };
      },
    },
    // Records what was sent to review and leaves it pending (the queue is not what this test is about).
    review: {
      review: async (request) => {
        reviewed.push(request.reason);
        return { kind: 'respond', text: 'pending' };
      },
    },
    log: () => {},
    flow,
  });
  const call = (server: string, tool: string, args: unknown, result: Result) =>
    g.call({
      agent: 'a',
      server,
      tool,
      args,
      signal: new AbortController().signal,
      forward: async () => {
        forwarded.push(tool);
        return result;
      },
    });
  return { call, events, forwarded, reviewed };
}

const ok: Result = { content: [{ type: 'text', text: 'sent' }] };

it('a flow check that throws holds the call for review instead of letting it through', async () => {
  class Broken extends FlowMemory {
    override check(): never {
      throw new Error('boom');
    }
  }
  const g = gate(policyFrom(POLICY), new Broken());
  await g.call('mail', 'send', { to: 'x' }, ok);
  expect(g.forwarded).toEqual([]);
  expect(g.reviewed).toEqual(['the check for values from sensitive results failed, so the call is held']);
  expect(g.events[0]).toMatchObject({ decision: 'review', flow: { failed: true } });
});

it('a sensitive result that results: block kept from the agent is not remembered', async () => {
  const flow = new FlowMemory();
  const g = gate(policyFrom(POLICY), flow);
  const leak = `ghp_${'Zq8w'.repeat(9)}`;
  await g.call('vault', 'read', {}, { content: [{ type: 'text', text: `token ${leak} for Db-2x9` }] });
  expect(flow.size('a')).toBe(0);
  await g.call('vault', 'read', {}, { content: [{ type: 'text', text: 'pw: Db-2x9-Q7' }] });
  expect(flow.size('a')).toBeGreaterThan(0);
  expect(g.events.at(-1)).toMatchObject({ event: 'execution', flow_remembered: flow.size('a') });
  await g.call('mail', 'send', { body: 'Db-2x9-Q7' }, ok);
  expect(g.forwarded).toEqual(['read', 'read']);
});
