// `policy explain` and `policy test` see containment as the gate does: denied before any rule.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const POLICY = `version: 2
servers:
  files: { command: server-filesystem, roots: [/srv/data] }
rules:
  - { id: all, match: "*", decision: allow }
tests:
  - { name: inside, call: { tool: read_file, server: files, args: { path: /srv/data/a } }, expect: allow }
  - { name: escape, call: { tool: read_file, server: files, args: { path: /srv/data/../../etc/shadow } }, expect: deny }
`;

it('explain names containment, not the default, and test agrees', async () => {
  const file = join(tempDir().dir, 'policy.yml');
  writeFileSync(file, POLICY);
  const explain = (args: string, ...more: string[]) =>
    cli('policy', 'explain', file, '--tool', 'read_file', '--server', 'files', '--args', args, ...more);

  const out = await explain('{"paths": ["/srv/data/a", "/etc/shadow"]}');
  expect(out.code).toBe(0);
  expect(out.stdout).toMatch(
    /^DENY by Portcullis \(containment\): containment: argument paths\[1\] is outside the server's roots\n {2}-> containment: the server's roots are \/srv\/data\n/,
  );
  const json = JSON.parse((await explain('{"path": "../x"}', '--json')).stdout);
  expect(json).toMatchObject({
    decision: 'deny',
    rule: null,
    reason: expect.stringMatching(/^containment: argument path /),
  });
  expect(JSON.parse((await explain('{"path": "/srv/data/x"}', '--json')).stdout)).toMatchObject({
    decision: 'allow',
    rule: 'all',
  });

  const tests = await cli('policy', 'test', file);
  expect(tests.code, tests.stdout + tests.stderr).toBe(0);
  expect(tests.stdout).toMatch(/pass {2}escape/);
});
