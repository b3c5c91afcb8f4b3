// The hand-written JSON-RPC message check against the SDK's own zod schema, on many generated messages.

import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { asJsonRpcMessage } from '../../src/proxy/jsonrpc-message.js';
import { random } from '../helpers/generated.js';

const IDS: unknown[] = [0, 1, -7, 2 ** 53 - 1, 2 ** 53, 1.5, 1e300, 'a', '', null, true, [], {}];
const TOKENS: unknown[] = [...IDS, undefined];
const VERSIONS: unknown[] = ['2.0', '2.0', '2.0', '1.0', 2, undefined];
const KEYS = ['jsonrpc', 'id', 'method', 'params', 'result', 'error'];
const EXTRA_KEYS = ['extra', '__proto__', 'data', 'Id'];

/** A value near a JSON-RPC message: each part present or not, well-formed or not. */
function candidate(next: () => number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const chance = (p: number) => next() < p;
  const meta = (): unknown => {
    if (chance(0.2)) return pick([null, 'x', [], 3]);
    const m: Record<string, unknown> = { other: { kept: 1 } };
    if (chance(0.5)) m.progressToken = pick(TOKENS);
    if (chance(0.2))
      m['io.modelcontextprotocol/related-task'] = pick([{ taskId: 't' }, { taskId: 3 }, 'x', null, {}]);
    return m;
  };
  const params = (): unknown => {
    if (chance(0.15)) return pick([null, 'x', [], 1, [1]]);
    const p: Record<string, unknown> = { name: 'echo', arguments: { a: 1 } };
    if (chance(0.5)) p._meta = meta();
    return p;
  };
  const error = (): unknown => {
    if (chance(0.15)) return pick([null, 'x', [], {}]);
    const e: Record<string, unknown> = {};
    if (chance(0.9)) e.code = pick([-32600, 0, 1.5, 2 ** 53, '1', null]);
    if (chance(0.9)) e.message = pick(['m', '', 3, null]);
    if (chance(0.4)) e.data = pick([{ x: 1 }, null, 'd', [1]]);
    if (chance(0.1)) e.extra = 1;
    return e;
  };
  const value: Record<string, unknown> = {};
  const parts: Record<string, () => unknown> = {
    jsonrpc: () => pick(VERSIONS),
    id: () => pick(IDS),
    method: () => pick(['tools/call', '', 3, null]),
    params,
    result: params,
    error,
  };
  // Mostly the shape of one kind of message, sometimes parts of several.
  const kind = pick([
    ['jsonrpc', 'id', 'method', 'params'],
    ['jsonrpc', 'method', 'params'],
    ['jsonrpc', 'id', 'result'],
    ['jsonrpc', 'id', 'error'],
    KEYS,
  ]);
  for (const key of kind) if (chance(key === 'jsonrpc' ? 0.97 : 0.85)) value[key] = parts[key]?.();
  if (chance(0.08)) value[pick(EXTRA_KEYS)] = 1;
  // As over the wire: what JSON cannot carry (undefined members) is gone, __proto__ is an own key.
  if (chance(0.05)) return pick([null, 'x', [value], 7]);
  return JSON.parse(JSON.stringify(value).replace('"extra":1', chance(0.5) ? '"__proto__":1' : '"extra":1'));
}

describe('asJsonRpcMessage', () => {
  it('accepts exactly what the SDK schema accepts, on 20,000 generated near-messages', () => {
    const next = random(14);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const value = candidate(next);
      const sdk = JSONRPCMessageSchema.safeParse(value).success;
      const ours = asJsonRpcMessage(value) !== undefined;
      if (ours !== sdk) throw new Error(`differs on ${JSON.stringify(value)}: SDK ${sdk}, ours ${ours}`);
      if (ours) accepted += 1;
    }
    // Both kinds are well represented, so agreement says something.
    expect(accepted).toBeGreaterThan(1_000);
    expect(accepted).toBeLessThan(19_000);
  });

  it('returns the message itself, unknown keys in params, result and _meta kept', () => {
    const message = JSON.parse(
      '{"jsonrpc":"2.0","id":3,"result":{"content":[],"x":{"y":1},"_meta":{"progressToken":"p","z":2}}}',
    );
    expect(asJsonRpcMessage(message)).toBe(message);
    expect(
      asJsonRpcMessage({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' } }),
    ).toBeDefined();
    expect(
      asJsonRpcMessage({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'x' } }),
    ).toBeUndefined();
    expect(asJsonRpcMessage({ jsonrpc: '2.0', id: 1, result: [] })).toBeUndefined();
  });
});
