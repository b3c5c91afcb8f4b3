// The listings the proxy makes for itself to learn an upstream's names: shared by concurrent callers, spaced when calls miss.

import type { Catalog, ListKind } from './catalog.js';
import { errorText } from './errors.js';

export interface RefresherDeps {
  catalog: Catalog;
  /** Every name of one kind that one upstream lists now (all pages). */
  fetch(kind: ListKind, server: string): Promise<string[]>;
  /** Least time between the starts of two listings of one upstream asked for by calls to unknown names. */
  missIntervalMs: number;
  now(): number;
  log(message: string): void;
}

interface State {
  inFlight: Promise<void> | undefined;
  /** When the listing in flight (or the last one) started. */
  startedAt: number;
  /** The next spaced listing, shared by every miss that waits for it. */
  scheduled: Promise<void> | undefined;
}

/**
 * A client must not be able to make the proxy re-list an upstream at will by calling names that do
 * not exist, nor be told "not listed" because another call's listing was still running. So every
 * caller joins the listing in flight, and a miss (a name the fresh list lacks) waits for the next
 * listing that starts after it arrived; those start at most once per `missIntervalMs` per upstream
 * and list, however many misses wait for them.
 */
export class Refresher {
  private readonly deps: RefresherDeps;
  private readonly states = new Map<string, State>();
  private closed = false;

  constructor(deps: RefresherDeps) {
    this.deps = deps;
  }

  /** Joins the listing in flight or starts one now (for lists that are stale: no spacing). */
  listNow(kind: ListKind, server: string): Promise<void> {
    const state = this.state(kind, server);
    if (state.inFlight !== undefined) return state.inFlight;
    const catalog = this.deps.catalog;
    const generation = catalog.generation(kind, server);
    state.startedAt = this.deps.now();
    const listing = this.deps
      .fetch(kind, server)
      .then((names) => catalog.replace(kind, server, names, generation))
      .catch((error: unknown) => this.deps.log(`listing ${kind} of ${server} failed: ${errorText(error)}`))
      .finally(() => {
        if (state.inFlight === listing) state.inFlight = undefined;
      });
    state.inFlight = listing;
    return listing;
  }

  /** Resolves once a listing that started at or after `since` has finished (spaced, shared). */
  listAfter(kind: ListKind, server: string, since: number): Promise<void> {
    const state = this.state(kind, server);
    if (state.startedAt >= since) return state.inFlight ?? Promise.resolve();
    state.scheduled ??= this.schedule(kind, server, state);
    return state.scheduled;
  }

  private async schedule(kind: ListKind, server: string, state: State): Promise<void> {
    try {
      await state.inFlight;
      const wait = state.startedAt + this.deps.missIntervalMs - this.deps.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
      if (this.closed) return;
    } finally {
      // Misses that arrive from here on need a listing that starts after them: the next one.
      state.scheduled = undefined;
    }
    await this.listNow(kind, server);
  }

  private state(kind: ListKind, server: string): State {
    const key = `${kind}\0${server}`;
    let state = this.states.get(key);
    if (!state) {
      state = { inFlight: undefined, startedAt: Number.NEGATIVE_INFINITY, scheduled: undefined };
      this.states.set(key, state);
    }
    return state;
  }

  close(): void {
    this.closed = true;
  }
}
