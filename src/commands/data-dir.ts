// Where Portcullis keeps its state: --data-dir, with ~ expanded, default ~/.portcullis.
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_DATA_DIR = '~/.portcullis';

export function resolveDataDir(dir: string | undefined): string {
  const given = dir ?? DEFAULT_DATA_DIR;
  const expanded = given === '~' || given.startsWith('~/') ? path.join(os.homedir(), given.slice(1)) : given;
  return path.resolve(expanded);
}
