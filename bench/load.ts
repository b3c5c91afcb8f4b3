// Bench load drivers: sequential calls, N in flight for a fixed time, and an open loop at a fixed rate.

/** One tools/call; resolves when the answer is back (rejects on an error answer). */
export type Call = () => Promise<unknown>;

/** Latency in ms of `count` calls one after another, after `warmup` unmeasured ones. */
export async function sequential(call: Call, count: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await call();
  const samples: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await call();
    samples[i] = performance.now() - start;
  }
  return samples;
}

export interface Throughput {
  calls: number;
  errors: number;
  perSecond: number;
}

/** Each worker keeps one call in flight for `seconds`; 16 workers on one client or one per client. */
export async function inFlight(workers: readonly Call[], seconds: number): Promise<Throughput> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let calls = 0;
  let errors = 0;
  await Promise.all(
    workers.map(async (call) => {
      while (performance.now() < end) {
        try {
          await call();
          calls++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { calls, errors, perSecond: calls / ((performance.now() - start) / 1000) };
}

export interface OpenLoop {
  sent: number;
  errors: number;
  /** ms from when each call was due (not when it was sent), so a stall counts against every call it delays. */
  latencies: number[];
}

/** Calls at a fixed rate regardless of answers, for `seconds`; then waits for the stragglers. */
export async function openLoop(call: Call, rate: number, seconds: number): Promise<OpenLoop> {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let errors = 0;
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const due = start + sent * interval;
        pending.push(
          call().then(
            () => void latencies.push(performance.now() - due),
            () => void errors++,
          ),
        );
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(pending);
  return { sent, errors, latencies };
}
