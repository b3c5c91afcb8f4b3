// Paths and commands of the real MCP servers the proxy tests run as upstreams.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtFile } from './built.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(REPO, 'node_modules', '.bin');
export const EVERYTHING = path.join(BIN, 'mcp-server-everything');
export const FILESYSTEM = path.join(BIN, 'mcp-server-filesystem');

/** YAML for a `servers:` entry that runs server-everything over stdio. */
export function everythingServer(name: string): string {
  return `  ${name}: { command: ${JSON.stringify(EVERYTHING)}, args: [stdio] }`;
}

/** The recording fixture server as a process: `node FIXTURE` (fixture-server.ts, transpiled for this run). */
export const FIXTURE = builtFile('tests/helpers/fixture-server.ts');
