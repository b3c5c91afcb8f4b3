// The SSE events of one HTTP session, kept for a while so a client whose stream dropped can resume it with Last-Event-ID.

import { LRUCache } from 'lru-cache';

export interface EventStoreBounds {
  /** Events older than this are dropped: past the resume window nobody will ask for them. */
  maxAgeMs: number;
  /** Most events kept per session. */
  maxEvents: number;
  /** Most bytes (the events' JSON) kept per session; a single larger event is not kept at all. */
  maxBytes: number;
}

export const DEFAULT_EVENT_STORE_BOUNDS: Omit<EventStoreBounds, 'maxAgeMs'> = {
  maxEvents: 1_000,
  maxBytes: 1024 * 1024,
};

interface StoredEvent {
  streamId: string;
  seq: number;
  /** The SSE `data:` of the event, its message's JSON; empty for a priming event (which only hands out an id). */
  data: string;
}

/**
 * A bounded in-memory event store. Ids are `<stream id>.<sequence>`: the sequence orders a stream's
 * events, and the oldest go first when a bound is reached. An id no longer held is reported
 * unknown rather than replayed from a gap: a client must learn that it missed events. Events are
 * kept as the JSON that was sent, so neither sizing nor a replay serialises a message again.
 */
export class BoundedEventStore {
  private readonly events: LRUCache<string, StoredEvent>;
  private seq = 0;

  constructor(bounds: EventStoreBounds) {
    this.events = new LRUCache<string, StoredEvent>({
      max: bounds.maxEvents,
      maxSize: bounds.maxBytes,
      sizeCalculation: (event) => Math.max(1, event.data.length + event.streamId.length),
      ttl: bounds.maxAgeMs,
      ttlAutopurge: false,
    });
  }

  get size(): number {
    return this.events.size;
  }

  /** Stores an event of the stream (`data` empty: the priming event) and returns its id. */
  store(streamId: string, data: string): string {
    this.seq += 1;
    const eventId = `${streamId}.${this.seq}`;
    this.events.set(eventId, { streamId, seq: this.seq, data });
    return eventId;
  }

  /** Whether the event is still held (a resume from it can be complete). */
  has(eventId: string): boolean {
    return this.events.has(eventId);
  }

  /** The stream an event belongs to, while the event is held. */
  streamOf(eventId: string): string | undefined {
    return this.events.peek(eventId)?.streamId;
  }

  /**
   * The events of the same stream after `lastEventId`, oldest first, without priming events; throws
   * when that event is no longer held.
   */
  after(lastEventId: string): { streamId: string; events: { id: string; data: string }[] } {
    const last = this.events.peek(lastEventId);
    if (!last) throw new Error('event no longer stored');
    const later: [string, StoredEvent][] = [];
    // peek, not get: a replay must not refresh what it reads (the oldest still go first).
    for (const key of this.events.keys()) {
      const event = this.events.peek(key);
      if (event && event.streamId === last.streamId && event.seq > last.seq && event.data !== '')
        later.push([key, event]);
    }
    later.sort((a, b) => a[1].seq - b[1].seq);
    return { streamId: last.streamId, events: later.map(([id, event]) => ({ id, data: event.data })) };
  }

  clear(): void {
    this.events.clear();
  }
}
