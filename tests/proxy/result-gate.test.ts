// The gate's result step on its own: an approved call's result follows its review rule, and a reload in between does not change that.
import type { Result } from '@modelcontextprotocol/sdk/types.js';
import { expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/index.js';
import type { CompiledPolicy } from '../../src/policy/index.js';
import { Gate } from '../../src/proxy/index.js';
import { policyFrom } from '../policy/helpers.js';

const github = `ghp_${'Zq8w'.repeat(9)}`;
const leaky: Result = { content: [{ type: 'text', text: `token ${github}` }] };

function gate(policy: () => CompiledPolicy): { gate: Gate; events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  const g = new Gate({
    policy,
    audit: {
      append: async (event) => {
        events.push(event);
        return { ...event, seq: events.length, ts: '', prev: '', hash: '' };
      },
    },
    // A reviewer (a stand-in for the approval queue, which is not what this test is about) that approves at once.
    review: { review: async (request) => ({ kind: 'run', args: request.args as Record<string, unknown> }) },
    log: () => {},
  });
  return { gate: g, events };
}

function call(forward: () => Promise<Result>) {
  return {
    agent: 'a',
    server: 'up',
    tool: 'read',
    args: {},
    signal: new AbortController().signal,
    forward,
  };
}

it("an approved call's result follows the review rule's results setting", async () => {
  const policy = policyFrom(
    'version: 2\nrules:\n  - { id: held, match: read, decision: review, results: { secrets: block } }\n',
  );
  const { gate: g, events } = gate(() => policy);
  const result = (await g.call(call(async () => leaky))) as {
    isError?: boolean;
    content: { text: string }[];
  };
  expect(result.isError).toBe(true);
  expect(result.content[0]?.text).toMatch(/^Result blocked by Portcullis, rule "held": /);
  expect(JSON.stringify(result)).not.toContain(github);
  expect(events.at(-1)).toMatchObject({ event: 'execution', result_action: 'blocked' });
});

it('the policy that decided the call decides its result, even when a reload lands while it runs', async () => {
  const before = policyFrom(
    'version: 2\nresults: { secrets: block }\nrules:\n  - { match: read, decision: allow }\n',
  );
  const after = policyFrom(
    'version: 2\nresults: { secrets: allow }\nrules:\n  - { match: read, decision: allow }\n',
  );
  let current = before;
  const { gate: g, events } = gate(() => current);
  const result = (await g.call(
    call(async () => {
      current = after;
      return leaky;
    }),
  )) as { isError?: boolean };
  expect(result.isError).toBe(true);
  expect(events.at(-1)).toMatchObject({ result_action: 'blocked' });
});

it('a result the scanner cannot read is blocked, not passed', async () => {
  const policy = policyFrom('version: 2\nrules:\n  - { match: read, decision: allow }\n');
  const { gate: g, events } = gate(() => policy);
  // A getter that throws: a result object no JSON peer would send, standing in for any scanner failure.
  const hostile = { content: [] } as Record<string, unknown>;
  Object.defineProperty(hostile, 'trap', {
    enumerable: true,
    get() {
      throw new Error('boom');
    },
  });
  const result = (await g.call(call(async () => hostile as Result))) as {
    isError?: boolean;
    content: { text: string }[];
  };
  expect(result.isError).toBe(true);
  expect(result.content[0]?.text).toContain('scan-failed');
  expect(events.at(-1)).toMatchObject({ result_action: 'blocked' });
});
