// The fixture server (fixture.ts) as a child process over stdio; run on plain node from the built tree (FIXTURE).
// FIXTURE_NOISE: writes a line that is not JSON-RPC to stdout and one to stderr before serving.
// FIXTURE_EXIT_IF_EXISTS: a path; while that file exists the fixture exits at start (an upstream that stays down).

import { existsSync } from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { type FixtureHost, fixtureRecorder, fixtureServer } from './fixture.js';

const host: FixtureHost = {
  env: process.env,
  pid: process.pid,
  exit: (code) => process.exit(code),
  stdout: (text) => process.stdout.write(text),
};

const refuseFile = process.env.FIXTURE_EXIT_IF_EXISTS;
if (refuseFile && existsSync(refuseFile)) {
  fixtureRecorder(host)({ event: 'refused' });
  process.exit(1);
}

const server = fixtureServer(host);
if (process.env.FIXTURE_NOISE) {
  process.stdout.write('fixture noise on stdout\n');
  process.stderr.write('fixture noise on stderr\n');
}
await server.connect(new StdioServerTransport());
