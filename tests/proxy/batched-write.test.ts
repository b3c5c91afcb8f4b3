// Lines written in one tick leave in one writev, in order; a full buffer still asks the writer to wait.

import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeBatched } from '../../src/proxy/batched-write.js';

/** A stream that records each call its writer makes (one per system call, for a pipe). */
function recording(highWaterMark = 16 * 1024): { stream: Writable; calls: string[][] } {
  const calls: string[][] = [];
  const stream = new Writable({
    highWaterMark,
    decodeStrings: false,
    write(chunk: string, _encoding, done) {
      calls.push([chunk]);
      done();
    },
    writev(chunks, done) {
      calls.push(chunks.map(({ chunk }) => chunk as string));
      done();
    },
  });
  return { stream, calls };
}

const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve));

describe('writeBatched', () => {
  it('sends the lines of one tick in one call, in order, and the next tick in another', async () => {
    const { stream, calls } = recording();
    writeBatched(stream, 'a\n');
    writeBatched(stream, 'b\n');
    writeBatched(stream, 'c\n');
    expect(calls).toEqual([]);
    await nextTick();
    expect(calls).toEqual([['a\n', 'b\n', 'c\n']]);
    writeBatched(stream, 'd\n');
    await nextTick();
    expect(calls).toEqual([['a\n', 'b\n', 'c\n'], ['d\n']]);
    expect(stream.writableCorked).toBe(0);
  });

  it('reports a full buffer, and drains once the tick is over', async () => {
    const { stream, calls } = recording(8);
    expect(writeBatched(stream, 'short\n')).toBe(true);
    expect(writeBatched(stream, 'past the mark\n')).toBe(false);
    await once(stream, 'drain');
    expect(calls.flat()).toEqual(['short\n', 'past the mark\n']);
  });

  it('keeps lines written while a stream is ending', async () => {
    const { stream, calls } = recording();
    writeBatched(stream, 'last\n');
    stream.end();
    await once(stream, 'finish');
    await nextTick();
    expect(calls.flat()).toEqual(['last\n']);
  });
});
