// The SSE events of one HTTP session, kept for a while so a client whose stream dropped can resume it with Last-Event-ID.

import type { EventStore } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
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
  message: JSONRPCMessage;
}

/**
 * A bounded in-memory event store. Ids are `<stream id>.<sequence>`: the sequence orders a stream's
 * events, and the oldest go first when a bound is reached. An id no longer held is reported
 * unknown rather than replayed from a gap: a client must learn that it missed events.
 */
export class BoundedEventStore implements EventStore {
  private readonly events: LRUCache<string, StoredEvent>;
  private seq = 0;

  constructor(bounds: EventStoreBounds) {
    this.events = new LRUCache<string, StoredEvent>({
      max: bounds.maxEvents,
      maxSize: bounds.maxBytes,
      sizeCalculation: (event) => Math.max(1, JSON.stringify(event.message).length + event.streamId.length),
      ttl: bounds.maxAgeMs,
      ttlAutopurge: false,
    });
  }

  get size(): number {
    return this.events.size;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    this.seq += 1;
    const eventId = `${streamId}.${this.seq}`;
    this.events.set(eventId, { streamId, seq: this.seq, message });
    return eventId;
  }

  /** Whether the event is still held (a resume from it can be complete). */
  has(eventId: string): boolean {
    return this.events.has(eventId);
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.events.peek(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const last = this.events.peek(lastEventId);
    if (!last) throw new Error('event no longer stored');
    const later: [string, StoredEvent][] = [];
    // peek, not get: a replay must not refresh what it reads (the oldest still go first).
    for (const key of this.events.keys()) {
      const event = this.events.peek(key);
      if (event && event.streamId === last.streamId && event.seq > last.seq) later.push([key, event]);
    }
    later.sort((a, b) => a[1].seq - b[1].seq);
    for (const [eventId, event] of later) {
      // The priming event (empty data) only hands the client an id; it is not replayed.
      if (Object.keys(event.message).length === 0) continue;
      await send(eventId, event.message);
    }
    return last.streamId;
  }

  clear(): void {
    this.events.clear();
  }
}
