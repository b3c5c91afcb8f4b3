// The pending page over a real queue: what a reviewer reads about each held call.
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, harness, park, signIn } from './helpers.js';

let h: Harness;
afterEach(() => h.close());

describe('pending page', () => {
  it('counts time left by the queue clock, the one expiry is judged by', async () => {
    // The queue's clock runs 30 minutes ahead of the wall clock; a 5 minute approval has 5:00 left.
    h = harness({}, { now: () => Date.now() + 30 * 60_000 });
    const id = await park(h);
    const { cookie } = await signIn(h);
    for (const path of ['/', '/fragments/pending']) {
      const page = await (await h.request(path, { headers: { cookie } })).text();
      const left = new RegExp(`id="${id}"[\\s\\S]*?class="countdown"[^>]*>([^<]*)<`).exec(page)?.[1];
      expect(left).toMatch(/^(5:00|4:59) left$/);
    }
  });
});
