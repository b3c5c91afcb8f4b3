// Upstream configuration as the user writes it: ${VAR} in command/args/cwd, paths from the policy's folder, and upstreams that are down.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveUpstreams, UpstreamConfigError } from '../../src/proxy/index.js';
import { cli } from '../helpers/cli.js';
import { callsOf, resultText } from '../helpers/fixture-log.js';
import { FIXTURE, REPO } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const ALLOW_ALL = 'rules:\n  - { id: all, match: "*", decision: allow }\n';
const dollar = (name: string): string => `$${'{'}${name}}`;

describe('resolving servers: entries', () => {
  const env = { TOOLS: '/opt/tools', WORK: 'work', DIR: '/srv/data' };

  it('expands variables in command, args and cwd, and resolves a relative cwd and command against the policy folder', () => {
    const { specs, errors } = resolveUpstreams(
      {
        fs: {
          command: `${dollar('TOOLS')}/bin/server`,
          args: ['--root', dollar('DIR'), `${dollar('DIR')}/sub`, 'relative/arg'],
          cwd: dollar('WORK'),
        },
        local: { command: './bin/server' },
      },
      '/etc/portcullis',
      undefined,
      env,
    );
    expect(errors).toEqual([]);
    expect(specs[0]).toMatchObject({
      name: 'fs',
      command: '/opt/tools/bin/server',
      // Passed as written once expanded: a relative argument is the child's, in its cwd.
      args: ['--root', '/srv/data', '/srv/data/sub', 'relative/arg'],
      cwd: '/etc/portcullis/work',
    });
    expect(specs[1]).toMatchObject({ command: '/etc/portcullis/bin/server', cwd: '/etc/portcullis' });
  });

  it('a missing variable in args or cwd stops that upstream only, naming the server and the variable', () => {
    const { specs, errors } = resolveUpstreams(
      {
        a: { command: 'node', args: ['x.js', dollar('NOPE_ARG')] },
        b: { command: 'node', cwd: `${dollar('NOPE_CWD')}/x` },
        c: { command: 'node' },
      },
      '/p',
      undefined,
      env,
    );
    expect(specs.map((s) => s.name)).toEqual(['c']);
    expect(errors.map((e) => [e.server, e.message, e.code])).toEqual([
      ['a', 'servers.a.args[1]: environment variable NOPE_ARG is not set', 'E_UPSTREAM_CONFIG'],
      ['b', 'servers.b.cwd: environment variable NOPE_CWD is not set', 'E_UPSTREAM_CONFIG'],
    ]);
    expect(errors[0]).toBeInstanceOf(UpstreamConfigError);
  });

  it('through the proxy: cwd and args from variables start the real server, a relative script found in that cwd', async () => {
    const log = path.join(tempDir().dir, 'fixture.jsonl');
    const proxy = await startHttpProxy({
      policy: `version: 2\nservers:\n  fx: { command: node, args: [${JSON.stringify(path.basename(FIXTURE))}, "--label=${dollar('LABEL')}"], cwd: "${dollar('FIXDIR')}", env: { FIXTURE_LOG: ${JSON.stringify(log)} } }\n${ALLOW_ALL}`,
      env: { ...process.env, FIXDIR: path.dirname(FIXTURE), LABEL: 'x' },
    });
    const client = await httpClient(proxy.url);
    try {
      const result = await client.callTool({ name: 'echo', arguments: { hello: 'there' } });
      expect(result.isError, resultText(result)).toBeFalsy();
      expect(await callsOf(log, 'echo')).toBe(1);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});

describe('upstreams that are down', () => {
  let proxy: TestProxy;
  let exists: string;

  beforeAll(async () => {
    exists = path.join(tempDir().dir, 'present');
    writeFileSync(exists, 'while this file exists the fixture exits at start');
    proxy = await startHttpProxy({
      policy: [
        'version: 2',
        'servers:',
        '  missing: { command: portcullis-no-such-command-3f9 }',
        `  dies: { command: node, args: [${JSON.stringify(FIXTURE)}], env: { FIXTURE_EXIT_IF_EXISTS: ${JSON.stringify(exists)} } }`,
        `  unset: { command: node, args: [${JSON.stringify(FIXTURE)}, "${dollar('PORTCULLIS_TEST_UNSET_3F9')}"] }`,
        `  ok: { command: node, args: [${JSON.stringify(FIXTURE)}] }`,
        `  loud: { command: node, args: [-e, "console.error('boom: no API key'); process.exit(2)"] }`,
        ALLOW_ALL,
      ].join('\n'),
      ui: 0,
      routing: { upstreamWaitMs: 500 },
    });
  }, 30_000);

  afterAll(async () => {
    await proxy?.close();
  });

  const linesAbout = (server: string): string[] =>
    proxy.logs.filter((l) => l.startsWith(`upstream ${server} is down: `));

  it('at start-up: one line for a command that does not exist and one for a missing variable', () => {
    expect(linesAbout('missing')).toEqual([
      expect.stringMatching(
        /^upstream missing is down: portcullis-no-such-command-3f9 \(in .+\): the command portcullis-no-such-command-3f9 is not found on PATH$/,
      ),
    ]);
    expect(proxy.logs.filter((l) => l.includes('servers.unset'))).toEqual([
      'upstream not started: servers.unset.args[1]: environment variable PORTCULLIS_TEST_UNSET_3F9 is not set',
    ]);
  });

  it('a server that dies at start: one line (the command, its cwd, the error) however often it is retried', async () => {
    const client = await httpClient(proxy.url);
    try {
      await waitFor(() => linesAbout('dies').length > 0, 'the dying upstream to be reported');
      // Several retries later (backoff from 250 ms), still the one line.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(linesAbout('dies')).toEqual([
        expect.stringMatching(
          /^upstream dies is down: node \S+fixture-server\.js \(in .+\): cannot start: .+/,
        ),
      ]);
      expect(linesAbout('missing')).toHaveLength(1);
      // What the server said on its way out is the operator's best clue: it ends the line.
      await waitFor(() => linesAbout('loud').length > 0, 'the loud upstream to be reported');
      expect(linesAbout('loud')).toEqual([
        expect.stringMatching(
          /^upstream loud is down: node -e .+: cannot start: .+; its last output: boom: no API key$/,
        ),
      ]);
    } finally {
      await client.close();
    }
  });

  it('/health/ready is 503 and names each upstream that is down, without its command line', async () => {
    const response = await fetch(`${proxy.app.web?.url}/health/ready`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { checks: { upstreams: { ok: boolean; detail: string } } };
    expect(body.checks.upstreams.ok).toBe(false);
    const detail = body.checks.upstreams.detail;
    expect(detail).toContain(
      'unset is down: servers.unset.args[1]: environment variable PORTCULLIS_TEST_UNSET_3F9 is not set',
    );
    expect(detail).toMatch(/missing is down: /);
    expect(detail).toMatch(/dies is down: cannot start: /);
    expect(detail).not.toContain('ok is down');
    expect(detail).not.toContain(FIXTURE);
  });

  it('a client calling their tools is told "upstream NAME is down: ...", never "not listed"; the others serve', async () => {
    const client = await httpClient(proxy.url);
    try {
      for (const [tool, reason] of [
        ['dies__echo', /^Denied by Portcullis: upstream dies is down: cannot start: /],
        ['missing__echo', /^Denied by Portcullis: upstream missing is down: /],
        [
          'unset__echo',
          /^Denied by Portcullis: upstream unset is down: servers\.unset\.args\[1\]: environment variable PORTCULLIS_TEST_UNSET_3F9 is not set/,
        ],
      ] as const) {
        const result = await client.callTool({ name: tool, arguments: {} });
        expect(result.isError).toBe(true);
        expect(resultText(result)).toMatch(reason);
        expect(resultText(result)).not.toContain('not listed');
        expect(resultText(result)).not.toContain(FIXTURE);
      }
      const ok = await client.callTool({ name: 'ok__echo', arguments: { a: 1 } });
      expect(ok.isError, resultText(ok)).toBeFalsy();
      // A name that is clearly another upstream's is not blamed on the ones that are down.
      const other = await client.callTool({ name: 'ok__nothing_such', arguments: {} });
      expect(resultText(other)).not.toContain('unset');
    } finally {
      await client.close();
    }
  });
});

describe('servers: and a -- COMMAND together', () => {
  const file = path.join(REPO, 'policies', 'filesystem.yml');
  const wrap = ['npx', '-y', '@modelcontextprotocol/server-filesystem', '/tmp'];

  it('policy validate warns when both would apply, and not for the file alone', async () => {
    const both = await cli('policy', 'validate', file, '--', ...wrap);
    expect(both.code).toBe(0);
    expect(both.stderr).toMatch(
      /filesystem\.yml: warning: servers: \(files\) and the -- COMMAND \(server-filesystem\) both apply: the proxy runs 2 upstreams, so every tool is listed as SERVER__TOOL .*calls to plain tool names are denied/,
    );
    const alone = await cli('policy', 'validate', file);
    expect(alone.code).toBe(0);
    expect(alone.stderr).not.toContain('both apply');
  });

  it('run says so at start too', async () => {
    const proxy = await startHttpProxy({
      policy: `version: 2\nservers:\n  ok: { command: node, args: [${JSON.stringify(FIXTURE)}] }\n${ALLOW_ALL}`,
      command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    });
    try {
      expect(proxy.logs).toContainEqual(
        expect.stringMatching(/^warning: servers: \(ok\) and the -- COMMAND \(fixture\) both apply/),
      );
    } finally {
      await proxy.close();
    }
  });
});
