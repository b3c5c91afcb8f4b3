// Worker threads that check verify's chunks (hashing and scanning are most of its time), so a long
// log is checked on every core; verify.ts still links the results into one chain, in file order.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChunkCheck } from './lines.js';
import type { ChunkTask } from './verify-worker.js';

const WORKER_FILE = fileURLToPath(new URL('./verify-worker.js', import.meta.url));
/** More threads than this do not pay on a log read from one disk. */
const MAX_THREADS = 4;

/**
 * How many checker threads verify starts by default: one per core up to MAX_THREADS, none on one
 * core (a thread there only adds copying), and none when this module runs from its TypeScript
 * source (tests, tsx), where there is no compiled worker file to start.
 */
export function defaultThreads(): number {
  const cores = availableParallelism();
  if (cores < 2 || !existsSync(WORKER_FILE)) return 0;
  return Math.min(cores, MAX_THREADS);
}

interface Pending {
  resolve: (result: ChunkCheck) => void;
  reject: (error: Error) => void;
}

type Answer = { id: number; result: ChunkCheck } | { id: number; error: string };

/** A fixed set of checker threads; chunks go round-robin, each answer settles its own promise. */
export class ChunkCheckers {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #closed = false;
  /** Set once a worker died: later chunks fail at once instead of going to a thread that is gone. */
  #failure: Error | null = null;

  constructor(readonly size: number) {
    if (!existsSync(WORKER_FILE)) {
      throw new Error(`the verify worker ${WORKER_FILE} is missing (run the compiled build)`);
    }
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_FILE);
      worker.on('message', (answer: Answer) => this.#settle(answer));
      // A checker that dies takes its chunks with it: fail them (verify reports the log unreadable)
      // rather than wait for answers that will not come.
      worker.on('error', (error) => this.#fail(error));
      worker.on('exit', (code) => {
        if (!this.#closed) this.#fail(new Error(`a verify worker exited with code ${code}`));
      });
      this.#workers.push(worker);
    }
  }

  /**
   * Checks `bytes` on a worker. Its memory is transferred, so the caller must not use it again;
   * it must own its ArrayBuffer alone (Buffer.allocUnsafeSlow, not the shared pool).
   */
  check(bytes: Buffer): Promise<ChunkCheck> {
    if (this.#closed) return Promise.reject(new Error('the verify workers are closed'));
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const worker = this.#workers[id % this.#workers.length] as Worker;
    const task: ChunkTask = {
      id,
      buffer: bytes.buffer as ArrayBuffer,
      offset: bytes.byteOffset,
      length: bytes.length,
    };
    return new Promise<ChunkCheck>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage(task, [task.buffer]);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new Error('the verify workers are closed'));
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }

  #settle(answer: Answer): void {
    const pending = this.#pending.get(answer.id);
    if (!pending) return;
    this.#pending.delete(answer.id);
    if ('error' in answer) pending.reject(new Error(`a verify worker failed: ${answer.error}`));
    else pending.resolve(answer.result);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#failAll(this.#failure);
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
