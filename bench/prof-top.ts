// `tsx bench/prof-top.ts FILE.cpuprofile [N] [--callers NAME]`: the top self-time functions and files of a
// `node --cpu-prof` profile; with --callers, the stacks (three frames up, Node's own skipped) that a function's self time came from.
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a frame lives, short: the package (node_modules/x) or the path under the repo, or node:internal. */
function place(url: string): string {
  if (url === '') return '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    const pkg = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return `${pkg}/${rest.at(-1)}`;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.startsWith('node:') ? url : path.basename(url);
}

const IDLE = new Set(['(idle)', '(program)']);

function keyOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${place(url)}:${lineNumber + 1}`;
}

/** Percentages of busy time (idle excluded), self by function and file, and inclusive for Portcullis' own code. */
export function topOf(
  profile: Profile,
  n: number,
): { fn: string[]; file: string[]; own: string[]; busyMs: number } {
  const busy = profile.nodes.filter((node) => !IDLE.has(node.callFrame.functionName));
  const total = busy.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  const parent = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const own = new Map<string, number>();
  for (const node of busy) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    byFn.set(keyOf(node), (byFn.get(keyOf(node)) ?? 0) + hits);
    byFile.set(place(node.callFrame.url), (byFile.get(place(node.callFrame.url)) ?? 0) + hits);
    // Inclusive: every distinct Portcullis function on this node's stack gets its hits once.
    const seen = new Set<string>();
    for (let at: ProfileNode | undefined = node; at; at = parent.get(at.id)) {
      if (at.callFrame.url.includes('/dist/src/') || at.callFrame.url.includes('/src/')) seen.add(keyOf(at));
    }
    for (const key of seen) own.set(key, (own.get(key) ?? 0) + hits);
  }
  const interval =
    profile.timeDeltas && profile.samples
      ? profile.timeDeltas.reduce((a, b) => a + b, 0) / profile.samples.length
      : 0;
  const rows = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, hits]) => `${((100 * hits) / total).toFixed(1).padStart(5)}%  ${key}`);
  return { fn: rows(byFn), file: rows(byFile), own: rows(own), busyMs: (total * interval) / 1000 };
}

/** Where the self time of functions named `name` came from: the three frames above them outside Node's own code, by share of busy time. */
export function callersOf(profile: Profile, name: string, n: number): string[] {
  const busy = profile.nodes.filter((node) => !IDLE.has(node.callFrame.functionName));
  const total = busy.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const parent = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const byStack = new Map<string, number>();
  for (const node of busy) {
    if (node.callFrame.functionName !== name || !node.hitCount) continue;
    const frames: string[] = [];
    // Node's own frames (node:net, node:internal/...) are skipped: the question is whose code asked.
    for (let at = parent.get(node.id); at && frames.length < 3; at = parent.get(at.id))
      if (!at.callFrame.url.startsWith('node:') && at.callFrame.url !== '') frames.push(keyOf(at));
    const key = frames.join(' < ');
    byStack.set(key, (byStack.get(key) ?? 0) + node.hitCount);
  }
  return [...byStack.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, hits]) => `${((100 * hits) / total).toFixed(1).padStart(5)}%  ${key}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--callers');
  const callers = at >= 0 ? args.splice(at, 2)[1] : undefined;
  const [file, count] = args;
  if (!file) throw new Error('usage: tsx bench/prof-top.ts FILE.cpuprofile [N] [--callers NAME]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  if (callers !== undefined) {
    console.log(`self time of ${callers}, by the frames above it (share of busy time)`);
    for (const row of callersOf(profile, callers, Number(count ?? 15))) console.log(row);
    process.exit(0);
  }
  const top = topOf(profile, Number(count ?? 25));
  console.log(`busy ${top.busyMs.toFixed(0)} ms; shares below are of busy time\nself time by function`);
  for (const row of top.fn) console.log(row);
  console.log('\nself time by file');
  for (const row of top.file) console.log(row);
  console.log('\ninclusive time of Portcullis functions');
  for (const row of top.own) console.log(row);
}
