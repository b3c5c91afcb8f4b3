// The per-session SSE event store: replays a stream's later events in order, and stays within its count, byte and age bounds.

import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { BoundedEventStore } from '../../src/proxy/event-store.js';

const log = (data: string): JSONRPCMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/message',
  params: { level: 'info', data },
});

async function replay(store: BoundedEventStore, from: string): Promise<{ stream: string; sent: string[] }> {
  const sent: string[] = [];
  const stream = await store.replayEventsAfter(from, {
    send: async (_id, message) => {
      sent.push(String((message as { params?: { data?: string } }).params?.data));
    },
  });
  return { stream, sent };
}

const roomy = { maxAgeMs: 60_000, maxEvents: 100, maxBytes: 100_000 };

describe('the bounded event store', () => {
  it('replays only the later events of the same stream, in order, without the priming event', async () => {
    const store = new BoundedEventStore(roomy);
    const primed = await store.storeEvent('a', {} as JSONRPCMessage);
    const one = await store.storeEvent('a', log('a1'));
    await store.storeEvent('b', log('b1'));
    await store.storeEvent('a', log('a2'));
    await store.storeEvent('a', log('a3'));
    expect(await store.getStreamIdForEventId(one)).toBe('a');
    expect(await replay(store, primed)).toEqual({ stream: 'a', sent: ['a1', 'a2', 'a3'] });
    expect(await replay(store, one)).toEqual({ stream: 'a', sent: ['a2', 'a3'] });
  });

  it('forgets the oldest events past the count bound, and an id it forgot cannot be resumed from', async () => {
    const store = new BoundedEventStore({ ...roomy, maxEvents: 3 });
    const first = await store.storeEvent('a', log('1'));
    const second = await store.storeEvent('a', log('2'));
    await store.storeEvent('a', log('3'));
    await store.storeEvent('a', log('4'));
    expect(store.size).toBe(3);
    expect(store.has(first)).toBe(false);
    expect(await store.getStreamIdForEventId(first)).toBeUndefined();
    await expect(replay(store, first)).rejects.toThrow('no longer stored');
    expect((await replay(store, second)).sent).toEqual(['3', '4']);
  });

  it('stays within its byte bound, and keeps no single event larger than it', async () => {
    const store = new BoundedEventStore({ ...roomy, maxBytes: 2_000 });
    for (let i = 0; i < 50; i += 1) await store.storeEvent('a', log(`${i}`.padEnd(200, 'x')));
    expect(store.size).toBeLessThanOrEqual(2_000 / 200);
    expect(store.size).toBeGreaterThan(0);
    const huge = await store.storeEvent('a', log('y'.repeat(5_000)));
    expect(store.has(huge)).toBe(false);
  });

  it('drops events older than its age bound', async () => {
    const store = new BoundedEventStore({ ...roomy, maxAgeMs: 50 });
    const old = await store.storeEvent('a', log('old'));
    expect(store.has(old)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(store.has(old)).toBe(false);
    await expect(replay(store, old)).rejects.toThrow('no longer stored');
  });
});
