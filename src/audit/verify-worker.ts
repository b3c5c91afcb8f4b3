// A worker thread of verify's chunk checkers (verify-pool.ts): checks the chunks it is sent, in order, and sends each result back.
import { parentPort } from 'node:worker_threads';
import { checkChunk } from './lines.js';

/** What verify-pool.ts sends: a chunk of whole lines, its memory transferred to this thread. */
export interface ChunkTask {
  id: number;
  buffer: ArrayBuffer;
  offset: number;
  length: number;
}

parentPort?.on('message', (task: ChunkTask) => {
  try {
    const result = checkChunk(Buffer.from(task.buffer, task.offset, task.length));
    parentPort?.postMessage({ id: task.id, result }, [
      result.status.buffer as ArrayBuffer,
      result.seq.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    parentPort?.postMessage({ id: task.id, error: error instanceof Error ? error.message : String(error) });
  }
});
