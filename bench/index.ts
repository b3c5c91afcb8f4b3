// `npm run bench [-- NAME...] [--json [FILE]]`: every benchmark in one run, so ratios are compared on the same machine state.
import { writeFileSync } from 'node:fs';
import { run as agents } from './agents.js';
import { run as audit } from './audit.js';
import { run as lineReader } from './line-reader.js';
import { run as peers } from './peers.js';
import { run as policy } from './policy.js';
import { run as proxy } from './proxy.js';
import { run as sessions } from './sessions.js';

const BENCHES = [
  ['policy', policy],
  ['peers', peers],
  ['proxy', proxy],
  ['audit', audit],
  ['sessions', sessions],
  ['line-reader', lineReader],
  ['agents', agents],
] as const;

const argv = process.argv.slice(2);
const jsonAt = argv.indexOf('--json');
// `--json` alone: the JSON document is stdout and the tables go to stderr; `--json FILE` writes FILE.
const jsonFile =
  jsonAt >= 0 && argv[jsonAt + 1] && !argv[jsonAt + 1]?.startsWith('-') ? argv[jsonAt + 1] : undefined;
const names = argv.filter((arg, i) => !arg.startsWith('-') && !(jsonFile !== undefined && i === jsonAt + 1));
const unknown = names.filter((name) => !BENCHES.some(([bench]) => bench === name));
if (unknown.length > 0)
  throw new Error(`unknown bench ${unknown.join(', ')}; known: ${BENCHES.map(([n]) => n).join(', ')}`);
const toStdout = jsonAt >= 0 && jsonFile === undefined;
if (toStdout) console.log = console.error;

const results: Record<string, unknown> = {};
for (const [name, run] of BENCHES) {
  if (names.length > 0 && !names.includes(name)) continue;
  console.log(`\n== ${name}`);
  const result = await run();
  if (result !== undefined) results[name] = result;
}
if (jsonAt >= 0) {
  const document = `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`;
  if (jsonFile) writeFileSync(jsonFile, document);
  else process.stdout.write(document);
}
