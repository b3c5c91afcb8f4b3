// `policy explain` for resources and prompts, with roots from a `-- COMMAND`, and the tool's own schema (a file or its pin).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { definitionHash } from '../../src/pins/index.js';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const { dir } = tempDir('portcullis-explain-');
const policy = join(dir, 'p.yml');
writeFileSync(
  policy,
  `version: 2
default_resources: deny
default_prompts: allow
input_schema: { on_mismatch: deny, extra_properties: review }
rules:
  - { id: pub, kind: resource, match: "file:///srv/pub/**", decision: allow }
  - { id: ask, kind: resource, match: "db://prod/**", decision: review, reason: production data }
  - { id: no-admin, kind: prompt, match: "admin-*", decision: deny }
  - { id: reads, match: read_file, decision: allow }
`,
);
const FS = ['--', 'npx', '-y', '@modelcontextprotocol/server-filesystem', '/srv/data', '/home/u/notes'];
const SCHEMA = {
  type: 'object',
  properties: { path: { type: 'string' } },
  required: ['path'],
  additionalProperties: false,
};
const explain = (...args: string[]) => cli('policy', 'explain', policy, ...args);
const json = async (...args: string[]) => JSON.parse((await explain('--json', ...args)).stdout);

describe('policy explain --resource / --prompt', () => {
  it('traces resource rules and names the default_resources fallback', async () => {
    const out = await explain('--resource', 'file:///etc/shadow');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('DENY resource file:///etc/shadow by the default');
    expect(out.stdout).toContain('pub: resource file:///etc/shadow does not match file:///srv/pub/**');
    expect(out.stdout).toContain('-> default_resources: deny');
    expect(await json('--resource', 'FILE:///srv/pub/a')).toMatchObject({
      kind: 'resource',
      decision: 'allow',
      rule: 'pub',
    });
    const review = await explain('--resource', 'db://prod/users');
    expect(review.stdout).toContain('REVIEW resource db://prod/users by rule ask: production data');
    expect(review.stdout).toContain('resources/subscribe is denied');
  });

  it('traces prompt rules and the default_prompts fallback', async () => {
    expect(await json('--prompt', 'admin-reset')).toMatchObject({ decision: 'deny', rule: 'no-admin' });
    const greet = await explain('--prompt', 'greet');
    expect(greet.stdout).toContain('ALLOW prompt greet by the default');
    expect(greet.stdout).toContain('-> default_prompts: allow');
  });

  it('takes exactly one of --tool, --resource and --prompt', async () => {
    expect((await explain('--tool', 'x', '--resource', 'file:///a')).code).toBe(2);
    expect((await explain('--prompt', 'a', '--resource', 'file:///a')).code).toBe(2);
    expect((await explain()).code).toBe(2);
  });
});

describe('policy explain -- COMMAND: server-filesystem directories are roots', () => {
  it('denies a path outside them before any rule and names the root a path fell in', async () => {
    const out = await explain('--tool', 'read_file', '--args', '{"path":"/etc/passwd"}', ...FS);
    expect(out.stdout).toContain('DENY by Portcullis (containment)');
    expect(out.stdout).toContain(
      "the server's roots are /srv/data, /home/u/notes\n     (server-filesystem's directories in the -- COMMAND",
    );
    expect(out.stdout).toContain('path "/etc/passwd": argument path is outside');
    const inside = await json(
      '--tool',
      'read_file',
      '--args',
      '{"paths":["/home/u/notes/a","/srv/data/b"]}',
      ...FS,
    );
    expect(inside).toMatchObject({ decision: 'allow', rule: 'reads' });
    expect(inside.containment).toEqual({
      roots: ['/srv/data', '/home/u/notes'],
      source: 'command',
      checks: [
        { argument: 'paths[0]', value: '/home/u/notes/a', root: '/home/u/notes', problem: null },
        { argument: 'paths[1]', value: '/srv/data/b', root: '/srv/data', problem: null },
      ],
    });
    // A `..` that climbs out is judged on the normalised path, as the gate does.
    const climb = await json('--tool', 'read_file', '--args', '{"path":"/srv/data/../../etc/x"}', ...FS);
    expect(climb).toMatchObject({ decision: 'deny', rule: null });
    expect(climb.containment.checks[0].root).toBe(null);
  });

  it('says when no schema was checked', async () => {
    const out = await explain('--tool', 'read_file', '--args', '{"path":"/srv/data/a"}', ...FS);
    expect(out.stdout).toContain('schema: NOT CHECKED: no schema given');
    expect((await json('--tool', 'read_file', ...FS)).schema).toMatchObject({ checked: false });
  });
});

describe('policy explain: the tool’s own inputSchema', () => {
  const schemaFile = join(dir, 'tool.json');
  writeFileSync(schemaFile, JSON.stringify({ name: 'read_file', inputSchema: SCHEMA }));
  const bare = join(dir, 'schema.json');
  writeFileSync(bare, JSON.stringify(SCHEMA));
  const open = join(dir, 'open.json');
  writeFileSync(open, JSON.stringify({ ...SCHEMA, additionalProperties: undefined }));

  it('denies a mismatch as the proxy would (on_mismatch: deny), from a whole definition or a bare schema', async () => {
    for (const file of [schemaFile, bare]) {
      const d = await json('--tool', 'read_file', '--server', 'fs', '--args', '{"path":3}', '--schema', file);
      expect(d).toMatchObject({ decision: 'deny', rule: null });
      expect(d.schema).toMatchObject({ checked: true, action: 'deny', finding: { kind: 'mismatch' } });
    }
    const out = await explain('--tool', 'read_file', '--args', '{}', '--schema', bare);
    expect(out.stdout).toContain('DENY by Portcullis (input schema)');
  });

  it('sends an extra property to review (extra_properties: review) and passes a match', async () => {
    const extra = await json('--tool', 'read_file', '--args', '{"path":"/a","mode":"x"}', '--schema', open);
    expect(extra).toMatchObject({
      decision: 'review',
      schema: { action: 'review', finding: { kind: 'extra' } },
    });
    const ok = await json('--tool', 'read_file', '--args', '{"path":"/a"}', '--schema', bare);
    expect(ok).toMatchObject({ decision: 'allow', rule: 'reads', schema: { checked: true } });
    expect(ok.schema.finding).toBeUndefined();
  });

  it('reads the pinned definition of --server/--tool from --data-dir', async () => {
    const data = join(dir, 'data');
    mkdirSync(join(data, 'pins'), { recursive: true });
    const definition = { name: 'read_file', inputSchema: SCHEMA };
    writeFileSync(
      join(data, 'pins', 'fs.json'),
      JSON.stringify({
        version: 1,
        server: 'fs',
        tools: {
          read_file: { sha256: definitionHash(definition), definition, pinnedAt: '2026-01-01T00:00:00Z' },
        },
        held: {},
      }),
    );
    const args = ['--tool', 'read_file', '--server', 'fs', '--data-dir', data];
    const d = await json(...args, '--args', '{"path":1}');
    expect(d).toMatchObject({ decision: 'deny', schema: { checked: true, action: 'deny' } });
    expect(d.schema.source).toContain('the pin of fs/read_file');
    const other = await explain('--tool', 'write_file', '--server', 'fs', '--data-dir', data);
    expect(other.stdout).toContain('schema: NOT CHECKED: no pin of tool "write_file"');
    expect((await explain('--tool', 'read_file', '--data-dir', data)).code).toBe(2);
  });
});
