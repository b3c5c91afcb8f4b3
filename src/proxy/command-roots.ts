// The roots an upstream grants when it runs server-filesystem: its directories, resolved as the server does.
import os from 'node:os';
import path from 'node:path';
import { filesystemDirectories, rootProblem } from '../policy/index.js';
import type { CommandUpstream, UpstreamSpec } from './upstream-spec.js';

/**
 * server-filesystem resolves each directory argument against its working directory after expanding
 * a leading `~`; the same here, so its roots are what it will allow. A directory that still is no
 * normal absolute path is left out: paths in it are denied, not allowed.
 */
function resolvedRoots(dirs: readonly string[], cwd: string, home: string): string[] {
  return dirs
    .map((d) => (d === '~' || d.startsWith('~/') ? path.join(home, d.slice(1)) : path.resolve(cwd, d)))
    .filter((d) => rootProblem(d) === null);
}

/** The `-- COMMAND` upstream's roots: it runs in the proxy's working directory. */
export function commandRoots(
  command: CommandUpstream | undefined,
  cwd: string = process.cwd(),
  home: string = os.homedir(),
): Record<string, string[]> {
  const dirs = command ? filesystemDirectories(command.command, command.args) : null;
  if (!command || !dirs || dirs.length === 0) return {};
  const resolved = resolvedRoots(dirs, cwd, home);
  return resolved.length > 0 ? { [command.name]: resolved } : {};
}

/** The gate asks on every call; the specs change only on reload (a new array). */
const bySpecs = new WeakMap<readonly UpstreamSpec[], Record<string, string[]>>();

/**
 * Every stdio upstream's roots from its resolved spec: `${VAR}` already expanded, relative
 * directories against the child's own cwd, `~` as the child's HOME. The policy's own roots (given, or
 * derived from literal absolute directories) win over these; the gate asks on every call, so a
 * reload that changes a server's arguments changes its roots too.
 */
export function specRoots(specs: readonly UpstreamSpec[]): Record<string, string[]> {
  const known = bySpecs.get(specs);
  if (known) return known;
  const home = os.homedir();
  const out: Record<string, string[]> = {};
  for (const spec of specs) {
    if (spec.kind !== 'stdio') continue;
    const dirs = filesystemDirectories(spec.command, spec.args);
    if (!dirs || dirs.length === 0) continue;
    const resolved = resolvedRoots(dirs, spec.cwd, spec.env.HOME ?? home);
    if (resolved.length > 0) out[spec.name] = resolved;
  }
  bySpecs.set(specs, out);
  return out;
}
