// Which upstreams are down and why: one clear line on stderr when one goes down, /health/ready, and the client's error.

import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { specKey, type UpstreamSpec } from './upstream-spec.js';

export interface UpstreamStatus {
  state: 'starting' | 'up' | 'down';
  /** Why it is down, fit for a client and the unauthenticated health check (no command line). */
  reason?: string | undefined;
}

/**
 * The proxy's view of its upstreams across sessions: the last thing any session saw of each. A
 * server goes down when its spec cannot be used, its command cannot be found before start, or a
 * connection to it fails; it is up again as soon as one connects. Each change to down is logged
 * once (not on every retry), as one line naming the server, the command and the error.
 */
export class UpstreamHealth {
  private readonly status = new Map<string, UpstreamStatus>();
  /** The spec each status is about: a reload that changes a server's spec starts its status over. */
  private readonly keys = new Map<string, string>();
  /** Configured upstreams that have no spec (a missing variable, a bad URL): they are never started. */
  private unstarted: { server: string; reason: string }[] = [];

  constructor(private readonly log: (line: string) => void) {}

  /** The upstreams in force after a start or reload; a preflight failure is down at once. */
  configure(
    specs: readonly UpstreamSpec[],
    unstarted: readonly { server: string; reason: string }[],
    options: { preflight?: boolean } = {},
  ): void {
    const names = new Set(specs.map((s) => s.name));
    for (const name of [...this.status.keys()]) if (!names.has(name)) this.status.delete(name);
    // Their one line ("upstream not started: ...") is the caller's, as it was before this class.
    this.unstarted = [...unstarted];
    for (const spec of specs) {
      if (this.keys.get(spec.name) !== specKey(spec)) this.status.delete(spec.name);
      this.keys.set(spec.name, specKey(spec));
      const problem = options.preflight === false ? null : preflight(spec);
      if (problem !== null) this.down(spec.name, problem, `${commandLine(spec)}: ${problem}`);
      else if (!this.status.has(spec.name)) this.status.set(spec.name, { state: 'starting' });
    }
  }

  up(server: string): void {
    const was = this.status.get(server);
    if (!was) return;
    if (was.state === 'down') this.log(`upstream ${server} is up again`);
    this.status.set(server, { state: 'up' });
  }

  /**
   * `reason` for the client and the health check; `detail` (command, cwd, last output) for the log
   * only. Logged when it goes down, not on every failed retry while it stays down.
   */
  down(server: string, reason: string, detail: string = reason): void {
    const was = this.status.get(server);
    this.status.set(server, { state: 'down', reason });
    if (was?.state !== 'down') this.log(`upstream ${server} is down: ${detail}`);
  }

  notStarted(): readonly { server: string; reason: string }[] {
    return this.unstarted;
  }

  /** For /health/ready: ok while nothing is known down (an upstream not yet started by any session counts as ok). */
  check(): { ok: boolean; detail?: string | undefined } {
    const down = [
      ...this.unstarted.map(({ server, reason }) => `${server} is down: ${reason}`),
      ...[...this.status]
        .filter(([, s]) => s.state === 'down')
        .map(([server, s]) => `${server} is down: ${s.reason ?? 'unknown'}`),
    ];
    return down.length === 0 ? { ok: true } : { ok: false, detail: down.join('; ') };
  }
}

function commandLine(spec: UpstreamSpec): string {
  return spec.kind === 'stdio' ? `${[spec.command, ...spec.args].join(' ')} (in ${spec.cwd})` : spec.url;
}

/** Interpreters whose first argument is the program file; a missing file means the child dies at once. */
const SCRIPT_RUNNERS = new Set(['node', 'nodejs', 'bun', 'deno', 'tsx', 'python', 'python3']);
const SCRIPT_FILE = /\.(?:[cm]?js|[cm]?ts|py)$/i;

/**
 * What can be told before starting a stdio child: its cwd exists, its command can be found (on PATH
 * or as a file), and a script given to node or python exists. Null when nothing is wrong that we can
 * see; the child may still fail, which its connection reports.
 */
export function preflight(spec: UpstreamSpec, pathEnv: string | undefined = process.env.PATH): string | null {
  if (spec.kind !== 'stdio') return null;
  if (!isDirectory(spec.cwd)) return `its working directory ${spec.cwd} does not exist`;
  const command = spec.command;
  if (command.includes('/') || command.includes('\\')) {
    if (!isExecutable(command)) return `the command ${command} does not exist or is not executable`;
  } else if (!onPath(command, spec.env.PATH ?? pathEnv)) {
    return `the command ${command} is not found on PATH`;
  }
  const runner = path.basename(command).replace(/\.exe$/i, '');
  const script = SCRIPT_RUNNERS.has(runner) ? spec.args.find((a) => !a.startsWith('-')) : undefined;
  if (script !== undefined && SCRIPT_FILE.test(script)) {
    const file = path.resolve(spec.cwd, script);
    if (!isFile(file)) return `the script ${file} does not exist`;
  }
  return null;
}

function onPath(command: string, pathEnv: string | undefined): boolean {
  const exts = process.platform === 'win32' ? ['', '.exe', '.cmd', '.bat'] : [''];
  return (pathEnv ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .some((dir) => exts.some((ext) => isExecutable(path.join(dir, command + ext))));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
