// Pin files in the data dir, one per server: read strictly (anything odd is unreadable, never "no pins"), written atomically.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PinFile, PinState } from './judge.js';

const SHA256 = /^sha256:[0-9a-f]{64}$/;

/** Why a pin file's content cannot be trusted, or null when it is a well-formed pin file of `server`. */
function problemOf(value: unknown, server: string): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const file = value as Partial<PinFile>;
  if (file.version !== 1) return `unknown version ${JSON.stringify(file.version)}`;
  if (file.server !== server) return `it is the pin file of ${JSON.stringify(file.server)}`;
  if (typeof file.tools !== 'object' || file.tools === null || Array.isArray(file.tools)) return 'no tools';
  if (typeof file.held !== 'object' || file.held === null || Array.isArray(file.held))
    return 'no held definitions';
  for (const [name, entry] of [...Object.entries(file.tools), ...Object.entries(file.held)]) {
    if (typeof entry !== 'object' || entry === null) return `tool ${JSON.stringify(name)} has no pin`;
    if (typeof entry.sha256 !== 'string' || !SHA256.test(entry.sha256))
      return `tool ${JSON.stringify(name)}: bad sha256`;
    if (typeof entry.definition !== 'object' || entry.definition === null || entry.definition.name !== name) {
      return `tool ${JSON.stringify(name)}: its definition does not name it`;
    }
  }
  return null;
}

export class PinStore {
  /** `<data-dir>/pins`. */
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'pins');
  }

  /** The file of one server; the name is encoded so no server name can reach outside the folder. */
  fileOf(server: string): string {
    return join(this.dir, `${encodeURIComponent(server).replace(/^\./, '%2E')}.json`);
  }

  /** A missing file is first use; a file that exists but cannot be read or parsed is unreadable (fail closed). */
  read(server: string): PinState {
    let text: string;
    try {
      text = readFileSync(this.fileOf(server), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'unreadable', error: `cannot read ${this.fileOf(server)}: ${(error as Error).message}` };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { kind: 'unreadable', error: `${this.fileOf(server)} is not valid JSON` };
    }
    const problem = problemOf(value, server);
    if (problem) return { kind: 'unreadable', error: `${this.fileOf(server)}: ${problem}` };
    return { kind: 'pinned', file: value as PinFile };
  }

  /** Written to a temporary file and renamed over the old one: a reader sees the old pins or the new, never half. */
  write(file: PinFile): void {
    mkdirSync(this.dir, { recursive: true });
    const target = this.fileOf(file.server);
    const temporary = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { flag: 'wx' });
      renameSync(temporary, target);
    } finally {
      rmSync(temporary, { force: true });
    }
  }

  /** Forget a server's pins: its next listing is a first use again. */
  reset(server: string): void {
    rmSync(this.fileOf(server), { force: true });
  }

  /** The servers that have a pin file. */
  servers(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith('.json'))
      .map((n) => decodeURIComponent(n.slice(0, -'.json'.length)))
      .sort();
  }
}
