// The per-session SSE event store: replays a stream's later events in order, and stays within its count, byte and age bounds.

import { describe, expect, it } from 'vitest';
import { BoundedEventStore } from '../../src/proxy/event-store.js';

const log = (data: string): string =>
  JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data } });

function replay(store: BoundedEventStore, from: string): { stream: string; sent: string[] } {
  const { streamId, events } = store.after(from);
  return { stream: streamId, sent: events.map((event) => JSON.parse(event.data).params.data) };
}

const roomy = { maxAgeMs: 60_000, maxEvents: 100, maxBytes: 100_000 };

describe('the bounded event store', () => {
  it('replays only the later events of the same stream, in order, without the priming event', () => {
    const store = new BoundedEventStore(roomy);
    const primed = store.store('a', '');
    const one = store.store('a', log('a1'));
    store.store('b', log('b1'));
    store.store('a', log('a2'));
    store.store('a', log('a3'));
    expect(store.streamOf(one)).toBe('a');
    expect(replay(store, primed)).toEqual({ stream: 'a', sent: ['a1', 'a2', 'a3'] });
    expect(replay(store, one)).toEqual({ stream: 'a', sent: ['a2', 'a3'] });
  });

  it('forgets the oldest events past the count bound, and an id it forgot cannot be resumed from', () => {
    const store = new BoundedEventStore({ ...roomy, maxEvents: 3 });
    const first = store.store('a', log('1'));
    const second = store.store('a', log('2'));
    store.store('a', log('3'));
    store.store('a', log('4'));
    expect(store.size).toBe(3);
    expect(store.has(first)).toBe(false);
    expect(store.streamOf(first)).toBeUndefined();
    expect(() => replay(store, first)).toThrow('no longer stored');
    expect(replay(store, second).sent).toEqual(['3', '4']);
  });

  it('stays within its byte bound, and keeps no single event larger than it', () => {
    const store = new BoundedEventStore({ ...roomy, maxBytes: 2_000 });
    for (let i = 0; i < 50; i += 1) store.store('a', log(`${i}`.padEnd(200, 'x')));
    expect(store.size).toBeLessThanOrEqual(2_000 / 200);
    expect(store.size).toBeGreaterThan(0);
    const huge = store.store('a', log('y'.repeat(5_000)));
    expect(store.has(huge)).toBe(false);
  });

  it('drops events older than its age bound', async () => {
    const store = new BoundedEventStore({ ...roomy, maxAgeMs: 50 });
    const old = store.store('a', log('old'));
    expect(store.has(old)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(store.has(old)).toBe(false);
    expect(() => replay(store, old)).toThrow('no longer stored');
  });
});
