// `npm run bench`: every benchmark in one run, so ratios are compared on the same machine state.
import { run as agents } from './agents.js';
import { run as audit } from './audit.js';
import { run as lineReader } from './line-reader.js';
import { run as policy } from './policy.js';
import { run as proxy } from './proxy.js';
import { run as sessions } from './sessions.js';

for (const [name, run] of [
  ['policy', policy],
  ['proxy', proxy],
  ['audit', audit],
  ['sessions and shared upstreams', sessions],
  ['stdio line reader', lineReader],
  ['agent registry', agents],
] as const) {
  console.log(`\n== ${name}`);
  await run();
}
