// Bench report: the side-by-side table and the issue-14 targets, checked as ratios within one run.
import type { Percentiles } from './stats.js';

export interface OpenResult extends Percentiles {
  sent: number;
  errors: number;
}

export interface PeerResult {
  name: string;
  kind: 'stdio' | 'http';
  sequential: Percentiles;
  /** calls/s with 16 in flight on one session */
  inFlightOneSession: number;
  /** calls/s with one call in flight on each of 16 sessions (HTTP paths only) */
  inFlightSessions: number | null;
  open500: OpenResult;
  open1000: OpenResult;
  errors: number;
  rssMb: { proxy: number; upstream: number };
  cpuUsPerCall: { client: number; proxy: number; upstream: number };
}

export interface Target {
  name: string;
  value: string;
  met: boolean | null;
}

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : '-');
const rate = (n: number | null) =>
  n === null || !Number.isFinite(n) ? '-' : Math.round(n).toLocaleString('en-US');

/** The targets of issue 14; null when a path they need was not run. */
export function targets(paths: readonly PeerResult[]): Target[] {
  const by = (name: string) => paths.find((p) => p.name === name);
  const direct = by('direct stdio');
  const sdk = by('bare SDK relay');
  const stdio = by('Portcullis stdio');
  const floor = by('HTTP floor (SDK)');
  const http = by('Portcullis HTTP');
  const sg = by('supergateway');
  const out: Target[] = [];
  const add = (name: string, ok: boolean | undefined, value: string) =>
    out.push({ name, value, met: ok ?? null });
  if (stdio && direct) {
    const added = stdio.sequential.p50 - direct.sequential.p50;
    add('stdio added p50 <= 0.15 ms over direct', added <= 0.15, `${ms(added)} ms`);
  }
  if (stdio && sdk) {
    const ratio = stdio.inFlightOneSession / sdk.inFlightOneSession;
    add('stdio 16 in flight >= 60% of bare SDK relay', ratio >= 0.6, `${(ratio * 100).toFixed(0)}%`);
  }
  if (http && sg) {
    add(
      'HTTP p50 <= supergateway p50',
      http.sequential.p50 <= sg.sequential.p50,
      `${ms(http.sequential.p50)} vs ${ms(sg.sequential.p50)} ms`,
    );
    const ratio = http.inFlightOneSession / sg.inFlightOneSession;
    add('HTTP 16 in flight >= 1.2x supergateway', ratio >= 1.2, `${ratio.toFixed(2)}x`);
  }
  if (http && floor) {
    const ok = http.open1000.p99 <= 2 * floor.open1000.p99 && http.open1000.errors === 0;
    add(
      'HTTP open loop 1000/s p99 <= 2x floor, no errors',
      ok,
      `${ms(http.open1000.p99)} vs ${ms(floor.open1000.p99)} ms, ${http.open1000.errors} errors`,
    );
  }
  return out;
}

export function printPeers(result: { method: Record<string, number | string>; paths: PeerResult[] }): void {
  const m = result.method;
  console.log(
    `tools/call echo on one bench echo server, 100-rule policy, audit on; ${m.sequentialCalls} sequential calls, ${m.seconds} s per load step, ${m.rounds} interleaved round(s), ${m.cpus} CPUs, node ${m.node}`,
  );
  const head = [
    'path',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    '16 in flight/s',
    '16 sessions/s',
    '500/s p99',
    '1000/s p50',
    '1000/s p99',
    'errors',
    'RSS MB',
    'CPU us/call (proxy+up)',
  ];
  const rows = result.paths.map((p) => [
    p.name,
    ms(p.sequential.p50),
    ms(p.sequential.p90),
    ms(p.sequential.p99),
    rate(p.inFlightOneSession),
    rate(p.inFlightSessions),
    ms(p.open500.p99),
    ms(p.open1000.p50),
    ms(p.open1000.p99),
    String(p.errors + p.open500.errors + p.open1000.errors),
    p.rssMb.proxy > 0 ? p.rssMb.proxy.toFixed(0) : '-',
    `${p.cpuUsPerCall.proxy.toFixed(0)}+${p.cpuUsPerCall.upstream.toFixed(0)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  console.log(fmt(head));
  for (const r of rows) console.log(fmt(r));
  console.log(
    '(open loop latency counts from when each call was due; CPU is per process from /proc, client CPU in JSON)',
  );
  for (const t of targets(result.paths)) {
    console.log(`target ${t.met === null ? '?' : t.met ? 'met  ' : 'MISSED'} ${t.name}: ${t.value}`);
  }
}
