// The roots a `-- COMMAND` upstream grants when it runs server-filesystem: its directories, resolved as the server does.
import os from 'node:os';
import path from 'node:path';
import { filesystemDirectories, rootProblem } from '../policy/index.js';
import type { CommandUpstream } from './upstream-spec.js';

/**
 * server-filesystem resolves each directory argument against its working directory (the proxy's, for
 * `-- COMMAND`) after expanding a leading `~`; the same here, so its roots are what it will allow. A
 * directory that still is no normal absolute path is left out: paths in it are denied, not allowed.
 */
export function commandRoots(
  command: CommandUpstream | undefined,
  cwd: string = process.cwd(),
  home: string = os.homedir(),
): Record<string, string[]> {
  const dirs = command ? filesystemDirectories(command.command, command.args) : null;
  if (!command || !dirs || dirs.length === 0) return {};
  const resolved = dirs
    .map((d) => (d === '~' || d.startsWith('~/') ? path.join(home, d.slice(1)) : path.resolve(cwd, d)))
    .filter((d) => rootProblem(d) === null);
  return resolved.length > 0 ? { [command.name]: resolved } : {};
}
