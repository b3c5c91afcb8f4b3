// The stdio line reader against the SDK's ReadBuffer: many small messages (the hot path), one big result, one oversized line.
import { deserializeMessage, ReadBuffer } from '@modelcontextprotocol/sdk/shared/stdio.js';
import { LineReader } from '../src/proxy/line-reader.js';

const CHUNK = 64 * 1024;

/** The stream split the way a pipe delivers it: fixed-size chunks that cut messages anywhere. */
function chunksOf(text: string): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) out.push(bytes.subarray(i, i + CHUNK));
  return out;
}

function smallMessages(count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(
      JSON.stringify({
        result: { content: [{ type: 'text', text: `result number ${i} with a little text in it` }] },
        jsonrpc: '2.0',
        id: i,
      }),
    );
  }
  return `${lines.join('\n')}\n`;
}

function sdk(chunks: Buffer[]): number {
  const buffer = new ReadBuffer();
  let n = 0;
  for (const chunk of chunks) {
    buffer.append(chunk);
    while (buffer.readMessage() !== null) n += 1;
  }
  return n;
}

function ours(chunks: Buffer[], parse: boolean): number {
  let n = 0;
  const reader = new LineReader({
    onLine: (line) => {
      if (parse) deserializeMessage(line);
      n += 1;
    },
    onOversized: () => {
      n += 1;
    },
  });
  for (const chunk of chunks) reader.push(chunk);
  return n;
}

/** Best of several runs, in milliseconds. */
function time(runs: number, work: () => number, expected: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const got = work();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (got !== expected) throw new Error(`expected ${expected} messages, got ${got}`);
    best = Math.min(best, ms);
  }
  return best;
}

export async function run(): Promise<void> {
  const count = 100_000;
  const small = chunksOf(smallMessages(count));
  const bytes = small.reduce((sum, c) => sum + c.length, 0);
  const mb = bytes / 1e6;
  const sdkMs = time(5, () => sdk(small), count);
  const oursMs = time(5, () => ours(small, true), count);
  const splitMs = time(5, () => ours(small, false), count);
  console.log(`${count} small messages (${mb.toFixed(1)} MB in 64 KiB chunks), split and parsed:`);
  console.log(`  SDK ReadBuffer  ${sdkMs.toFixed(1)} ms  ${((count / sdkMs) * 1000).toFixed(0)} msg/s`);
  console.log(`  LineReader      ${oursMs.toFixed(1)} ms  ${((count / oursMs) * 1000).toFixed(0)} msg/s`);
  console.log(`  LineReader, split only (no JSON parse) ${splitMs.toFixed(1)} ms`);

  const bigText = `${JSON.stringify({ result: { content: [{ type: 'text', text: 'x'.repeat(9 * 1024 * 1024) }] }, jsonrpc: '2.0', id: 1 })}\n`;
  const big = chunksOf(bigText);
  const sdkBig = time(3, () => sdk(big), 1);
  const oursBig = time(3, () => ours(big, true), 1);
  console.log(`one 9 MiB result in ${big.length} chunks, split and parsed:`);
  console.log(`  SDK ReadBuffer  ${sdkBig.toFixed(1)} ms (copies the buffer on every chunk)`);
  console.log(`  LineReader      ${oursBig.toFixed(1)} ms`);

  const oversizedText = `${JSON.stringify({ result: { content: [{ type: 'text', text: 'y'.repeat(12 * 1024 * 1024) }] }, jsonrpc: '2.0', id: 2 })}\n`;
  const oversized = chunksOf(oversizedText);
  const scanMs = time(3, () => ours(oversized, false), 1);
  console.log(
    `one 12 MiB result (over the limit), scanned for its id and dropped: ${scanMs.toFixed(1)} ms ` +
      `(${(oversizedText.length / 1e6 / (scanMs / 1000)).toFixed(0)} MB/s); the SDK closes the connection here`,
  );
  // The scanner's slow case: no long strings to jump over, every byte is structure.
  const numbers = Array.from({ length: 6_500_000 }, (_, i) => i % 10);
  const denseText = `${JSON.stringify({ result: { structuredContent: { values: numbers } }, jsonrpc: '2.0', id: 3 })}\n`;
  const denseMs = time(3, () => ours(chunksOf(denseText), false), 1);
  console.log(
    `one ${(denseText.length / 1024 / 1024).toFixed(1)} MiB array of digits (over the limit), scanned byte by byte: ` +
      `${denseMs.toFixed(1)} ms (${(denseText.length / 1e6 / (denseMs / 1000)).toFixed(0)} MB/s)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
