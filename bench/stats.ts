// Bench statistics: quantiles of latency samples and per-process CPU/RSS read from /proc.
import { readFileSync } from 'node:fs';

/** The q-quantile of samples (sorted here; nearest rank). NaN when empty. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  return { p50: quantile(samples, 0.5), p90: quantile(samples, 0.9), p99: quantile(samples, 0.99) };
}

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

/** utime+stime of a process in microseconds (0 when it is gone, so a late exit does not abort a run). */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return 0;
  }
}

/** Resident set size in MB (0 when the process is gone). */
export function processRssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) / 1024;
  } catch {
    return 0;
  }
}

/** Every descendant of pid (children, their children, ...), e.g. the echo servers a proxy spawned. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${next}/task/${next}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
    } catch {}
    out.push(...children);
    queue.push(...children);
  }
  return out;
}
