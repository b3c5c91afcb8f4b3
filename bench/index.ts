// `npm run bench`: every benchmark in one run, so ratios are compared on the same machine state.
import { run as policy } from './policy.js';

for (const [name, run] of [['policy', policy]] as const) {
  console.log(`\n== ${name}`);
  await run();
}
