// Benchmark: Portcullis side by side with direct stdio, relays, the SDK HTTP floor and two peer gateways, interleaved.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type Call, inFlight, openLoop, sequential } from './load.js';
import { FLOOR_PATHS, PATHS, type PathSpec, type Running } from './paths.js';
import { type PeerResult, printPeers } from './peers-report.js';
import { median, type Percentiles, percentiles, processCpuUs, processRssMb } from './stats.js';

// The SDK's HTTP client adds an abort listener per request in flight to one long-lived signal, and
// undici caps that signal at 1,500 listeners whatever the default (it sets the cap itself when the
// signal has the default one): an open loop past saturation warns on every further call and the
// warnings drown the table. The bench client is not what is measured (proxy and upstream CPU and RSS
// are read from /proc), so that one warning is dropped in this process; every other is printed.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'MaxListenersExceededWarning') console.error(warning);
});

const QUICK = process.env.BENCH_QUICK === '1';
const CALLS = Number(process.env.BENCH_CALLS ?? (QUICK ? 200 : 2000));
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 0.5 : 5));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const CONCURRENCY = 16;
const RATES = [500, 1000] as const;

/** 99 realistic rules on other tools (globs, argument conditions, caps, reviews), then the one allowing echo. */
export function hundredRulePolicy(): string {
  const lines = ['version: 2', 'default: deny', 'sessions: { max_per_agent: 64 }', 'rules:'];
  for (let i = 0; i < 99; i++) {
    const shape = i % 4;
    if (shape === 0)
      lines.push(
        `  - { id: r${i}, match: ["svc${i}.*", "tool_${i}"], args: { region: { in: [eu, us] } }, decision: allow }`,
      );
    else if (shape === 1)
      lines.push(
        `  - { id: r${i}, match: "pay${i}.refund", ops: [refund], cap_cents: 15000, decision: allow }`,
      );
    else if (shape === 2)
      lines.push(`  - { id: r${i}, match: "admin${i}.*", decision: deny, reason: "admin tools are off" }`);
    else
      lines.push(`  - { id: r${i}, match: "write_${i}", decision: review, reason: "writes need a person" }`);
  }
  lines.push('  - { id: echo, match: echo, decision: allow }');
  return `${lines.join('\n')}\n`;
}

function callOf(client: Client): Call {
  const request = { name: 'echo', arguments: { message: 'bench' } };
  return async () => {
    const result = await client.callTool(request);
    if (result.isError) throw new Error('echo answered with an error');
  };
}

interface Live {
  spec: PathSpec;
  running: Running;
  main: Call;
  sessions: Call[];
  seq: number[];
  one: number[];
  many: number[];
  open: Record<number, { latencies: number[]; errors: number; sent: number }>;
  errors: number;
  calls: number;
  cpu: { client: number; proxy: number; upstream: number };
  rss: { proxy: number; upstream: number };
}

function cpuOf(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + processCpuUs(pid), 0);
}

async function round(live: Live, first: boolean): Promise<void> {
  const proxyPid = live.running.proxyPid();
  const upstream = live.running.upstreamPids();
  const clientBefore = process.cpuUsage();
  const proxyBefore = proxyPid === undefined ? 0 : processCpuUs(proxyPid);
  const upstreamBefore = cpuOf(upstream);
  const warmup = first ? 200 : 20;
  live.seq.push(...(await sequential(live.main, CALLS, warmup)));
  let calls = CALLS + warmup;
  const one = await inFlight(new Array(CONCURRENCY).fill(live.main), SECONDS);
  live.one.push(one.perSecond);
  calls += one.calls;
  live.errors += one.errors;
  if (live.sessions.length > 0) {
    const many = await inFlight(live.sessions, SECONDS);
    live.many.push(many.perSecond);
    calls += many.calls;
    live.errors += many.errors;
  }
  for (const rate of RATES) {
    const result = await openLoop(live.main, rate, SECONDS);
    const kept = live.open[rate] ?? { latencies: [], errors: 0, sent: 0 };
    live.open[rate] = kept;
    kept.latencies.push(...result.latencies);
    kept.errors += result.errors;
    kept.sent += result.sent;
    calls += result.sent;
  }
  const clientUsed = process.cpuUsage(clientBefore);
  live.cpu.client += clientUsed.user + clientUsed.system;
  live.cpu.proxy += proxyPid === undefined ? 0 : processCpuUs(proxyPid) - proxyBefore;
  live.cpu.upstream += cpuOf(upstream) - upstreamBefore;
  live.calls += calls;
  live.rss.proxy = Math.max(live.rss.proxy, proxyPid === undefined ? 0 : processRssMb(proxyPid));
  live.rss.upstream = Math.max(
    live.rss.upstream,
    upstream.reduce((sum, pid) => sum + processRssMb(pid), 0),
  );
}

function summary(live: Live): PeerResult {
  const per = (us: number) => us / live.calls;
  const open = (rate: number) => {
    const kept = live.open[rate] ?? { latencies: [], errors: 0, sent: 0 };
    return { ...percentiles(kept.latencies), sent: kept.sent, errors: kept.errors };
  };
  return {
    name: live.spec.name,
    kind: live.spec.kind,
    sequential: percentiles(live.seq) as Percentiles,
    inFlightOneSession: median(live.one),
    inFlightSessions: live.many.length > 0 ? median(live.many) : null,
    open500: open(500),
    open1000: open(1000),
    errors: live.errors,
    rssMb: live.rss,
    cpuUsPerCall: {
      client: per(live.cpu.client),
      proxy: per(live.cpu.proxy),
      upstream: per(live.cpu.upstream),
    },
  };
}

export interface PeersRun {
  method: Record<string, number | string>;
  paths: PeerResult[];
}

/** Runs every selected path (BENCH_PATHS: comma-separated name fragments) in interleaved rounds. */
export async function runPeers(): Promise<PeersRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portcullis-bench-peers-'));
  const policyFile = path.join(dir, 'policy.yml');
  await writeFile(policyFile, hundredRulePolicy());
  const only = process.env.BENCH_PATHS?.split(',').map((part) => part.trim().toLowerCase());
  const specs = only
    ? [...PATHS, ...FLOOR_PATHS].filter((spec) => only.some((part) => spec.name.toLowerCase().includes(part)))
    : PATHS;
  const ctx = {
    dir,
    policyFile,
    profDir: process.env.BENCH_PROF ? path.resolve(process.env.BENCH_PROF) : undefined,
  };
  const lives: Live[] = [];
  try {
    for (const spec of specs) {
      const running = await spec.start(ctx);
      lives.push({
        spec,
        running,
        main: callOf(await running.connect()),
        sessions: [],
        seq: [],
        one: [],
        many: [],
        open: {},
        errors: 0,
        calls: 0,
        cpu: { client: 0, proxy: 0, upstream: 0 },
        rss: { proxy: 0, upstream: 0 },
      });
      const live = lives.at(-1) as Live;
      // Sessions for the 16-session run: HTTP only (a stdio session is a process of its own).
      if (spec.kind === 'http')
        for (let i = 0; i < CONCURRENCY; i++) live.sessions.push(callOf(await running.connect()));
    }
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order each round so that drift (other load, thermal) does not favour one path.
      for (let i = 0; i < lives.length; i++) await round(lives[(i + r) % lives.length] as Live, r === 0);
    }
  } finally {
    for (const live of lives) await live.running.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
  return {
    method: {
      sequentialCalls: CALLS,
      seconds: SECONDS,
      rounds: ROUNDS,
      concurrency: CONCURRENCY,
      policyRules: 100,
      cpus: os.cpus().length,
      node: process.version,
    },
    paths: lives.map(summary),
  };
}

export async function run(): Promise<PeersRun> {
  const result = await runPeers();
  printPeers(result);
  return result;
}
