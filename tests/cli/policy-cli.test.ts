// The policy CLI contract (DESIGN 2): output formats and exit codes, in this process and as a real one.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { builtFile } from '../helpers/built.js';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

/** The same as a real process (node on this run's transpiled cli), for what only a process shows: exit codes, stack traces. */
async function processCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [builtFile('src/cli.ts'), ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const { dir } = tempDir('portcullis-cli-');
const broken = join(dir, 'broken.yml');
writeFileSync(
  broken,
  'version: 2\nrules:\n  - match: "!x"\n    decision: allow\n  - match: y\n    decision: deny\n    colour: red\n',
);
const failing = join(dir, 'failing.yml');
writeFileSync(
  failing,
  'version: 2\nrules:\n  - {id: a, match: x, decision: allow}\ntests:\n  - {name: wrong, call: {tool: x}, expect: deny}\n  - {name: right, call: {tool: x}, expect: allow, rule: a}\n',
);

describe('portcullis policy', () => {
  it('validate: ok on the example, FILE:LINE:COL errors and exit 1 on a broken file', async () => {
    const ok = await cli('policy', 'validate', 'policy.example.yml');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^policy.example.yml: ok: 6 rules, sha256 [0-9a-f]{64}\n$/);
    const bad = await cli('policy', 'validate', broken);
    expect(bad.code).toBe(1);
    // Schema errors come first; checks of glob meaning run once the shape is right.
    expect(bad.stderr).toBe(`${broken}:7:5: rules[1]: unknown key "colour"\n`);
    writeFileSync(broken, 'version: 2\nrules:\n  - match: "!x"\n    decision: allow\n');
    const negated = await cli('policy', 'validate', broken);
    expect(negated.code).toBe(1);
    expect(negated.stderr).toBe(
      `${broken}:3:12: rules[0].match: glob "!x" uses negation (!), which is refused: write a deny rule instead\n`,
    );
  });

  it('explain --json prints exactly one JSON object with decision, rule, reason and trace', async () => {
    const r = await cli(
      'policy',
      'explain',
      'policy.example.yml',
      '--tool',
      'refunds.refund',
      '--server',
      'payments',
      '--args',
      '{"amount_cents": 20000, "op": "refund"}',
      '--json',
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['decision', 'rule', 'reason', 'trace', 'schema']);
    expect(out).toMatchObject({ decision: 'review', rule: 'small-refunds' });
    expect(out.reason).toContain('over the cap of 15000');
    const fallback = await cli('policy', 'explain', 'policies/aegismcp-v2.yml', '--tool', 'x', '--json');
    expect(JSON.parse(fallback.stdout)).toMatchObject({ decision: 'review', rule: 'rule-4' });
    const none = await cli('policy', 'explain', 'policies/filesystem.yml', '--tool', 'nope', '--json');
    expect(JSON.parse(none.stdout)).toMatchObject({ decision: 'deny', rule: null });
  });

  it('explain refuses --args with duplicate keys or bad JSON as a usage error', async () => {
    const dup = await cli(
      'policy',
      'explain',
      'policy.example.yml',
      '--tool',
      'refunds.refund',
      '--args',
      '{"amount_cents":1,"amount_cents":99999}',
    );
    expect(dup.code).toBe(2);
    expect(dup.stderr).toBe('portcullis: --args: duplicate key "amount_cents" in JSON object\n');
    const bad = await cli('policy', 'explain', 'policy.example.yml', '--tool', 'x', '--args', '{nope');
    expect(bad.code).toBe(2);
  });

  it('test: runs inline tests, exit 1 when one fails', async () => {
    const ok = await cli('policy', 'test', 'policy.example.yml');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('6 passed, 0 failed');
    const bad = await cli('policy', 'test', failing);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('FAIL  wrong: expected deny, got allow (rule a:');
    expect(bad.stdout).toContain('1 passed, 1 failed');
  });

  it('migrate: prints version 2 YAML for an AegisMCP version 1 file', async () => {
    const r = await cli('policy', 'migrate', 'policies/aegismcp-v1.yml');
    expect(r.code).toBe(0);
    const doc = parse(r.stdout);
    expect(doc.version).toBe(2);
    expect(doc.rules.at(-1)).toMatchObject({ match: '*', decision: 'review' });
  });

  it('usage errors exit 2 with one line and no stack trace', async () => {
    const missing = await processCli('policy', 'validate', join(dir, 'absent.yml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`portcullis: cannot read policy ${join(dir, 'absent.yml')}: no such file\n`);
    expect((await cli('policy', 'explain', 'policy.example.yml')).code).toBe(2);
    expect((await cli('policy', 'frobnicate')).code).toBe(2);
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('policy');
  });
});

describe('the installed command', () => {
  it('is an executable file with a node shebang, so npx portcullis runs it', async () => {
    const bin = join(root, 'dist', 'src', 'cli.js');
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    const { stdout } = await run(bin, ['policy', 'validate', 'policy.example.yml'], { cwd: root });
    expect(stdout).toMatch(/policy.example.yml: ok/);
  });

  it('prints the version in package.json, built and from source alike', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(await processCli('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(await cli('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('takes that version from the package.json it is installed with', async () => {
    // The layout npm installs: package.json beside dist/src, dependencies reachable from there.
    const installed = mkdtempSync(join(tmpdir(), 'portcullis-installed-'));
    cpSync(join(root, 'dist', 'src'), join(installed, 'dist', 'src'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'));
    writeFileSync(
      join(installed, 'package.json'),
      JSON.stringify({ name: 'portcullis', version: '9.8.7-test', type: 'module' }),
    );
    try {
      const { stdout } = await run(join(installed, 'dist', 'src', 'cli.js'), ['--version']);
      expect(stdout).toBe('9.8.7-test\n');
    } finally {
      rmSync(installed, { recursive: true, force: true });
    }
  });
});
