// Argument hazards: containment in a server's roots, and the shell condition, through loaded policies.
import { describe, expect, it } from 'vitest';
import { containmentProblem, isPathKey, looksLikePath } from '../../src/policy/containment.js';
import { loadPolicy, runPolicyTests } from '../../src/policy/index.js';
import { shellHazard } from '../../src/policy/shell.js';
import { errorsOf, policyFrom } from './helpers.js';

const ROOTED = `
version: 2
servers:
  files:
    command: server-filesystem
    roots: [/srv/data, /home/me/projects/]
roots:
  cli: [/work]
rules:
  - { match: "*", decision: allow }
`;

describe('containment', () => {
  const policy = policyFrom(ROOTED);
  const check = (args: unknown, server = 'files') => policy.containment({ server, args });

  it('normalises the roots and keeps them by server', () => {
    expect(policy.roots).toEqual({ files: ['/srv/data', '/home/me/projects'], cli: ['/work'] });
  });

  it('lets paths inside a root through, under any path-named key and in lists', () => {
    for (const args of [
      { path: '/srv/data/a.txt' },
      { path: '/srv/data' },
      { path: '/srv/data/./sub//b/' },
      { paths: ['/srv/data/a', '/home/me/projects/x/y'] },
      { source: '/srv/data/a', destination: '/srv/data/b' },
      { filePath: '/srv/data/a', source_dir: '/srv/data', outputFile: '/srv/data/o' },
      { nested: { deeper: [{ path: '/srv/data/x' }] } },
      {},
      undefined,
    ])
      expect(check(args), JSON.stringify(args)).toBeNull();
  });

  it('denies a traversal in an argument no rule names, at any depth, naming the argument', () => {
    const cases: [unknown, string][] = [
      [{ path: '/srv/data/../../../../etc/shadow' }, 'path'],
      [{ path: '../../../../etc/shadow' }, 'path'],
      [{ paths: ['/srv/data/a', '/etc/shadow'] }, 'paths[1]'],
      [{ destination: '/srv/data-evil/x' }, 'destination'], // a prefix of the name is not inside
      [{ path: '/srv/dataX' }, 'path'],
      [{ path: '/SRV/DATA/a' }, 'path'], // exact case only: inside must be certain
      [{ query: '../../../../etc/shadow' }, 'query'],
      [{ q: '/etc/shadow' }, 'q'],
      [{ options: { extra: ['ok', '/etc/passwd'] } }, 'options.extra[1]'],
      [{ pattern: '..%2f..%2fetc%2fshadow' }, 'pattern'],
      [{ x: '%2e%2e/%2e%2e/etc/shadow' }, 'x'],
      [{ x: 'a/../../etc/shadow' }, 'x'],
      [{ x: '..\\..\\windows\\win.ini' }, 'x'],
      [{ x: 'C:\\Windows\\win.ini' }, 'x'],
      [{ x: 'file:///etc/shadow' }, 'x'],
      [{ x: '~/.ssh/id_rsa' }, 'x'],
      [{ x: ' /etc/shadow' }, 'x'],
      [{ x: '"/etc/shadow"' }, 'x'],
      [{ x: '\uff0fetc\uff0fshadow' }, 'x'], // full-width solidus
      [{ path: 'notes.txt' }, 'path'], // relative: the server resolves it against a cwd the policy cannot see
      [{ path: '' }, 'path'],
      [{ path: '/srv/data/cafe\u0301' }, 'path'], // not NFC
      [{ 'odd key': '/etc/x' }, '["odd key"]'],
      [['/etc/shadow'], '[0]'],
    ];
    for (const [args, where] of cases) {
      const reason = check(args);
      expect(reason, JSON.stringify(args)).toMatch(/^containment: argument /);
      expect(reason, JSON.stringify(args)).toContain(`argument ${where} `);
    }
  });

  it('leaves text alone: content-like keys and values that do not look like paths', () => {
    for (const args of [
      { path: '/srv/data/a.md', content: '../../etc/shadow' },
      { path: '/srv/data/a.md', content: '/etc/shadow' },
      { path: '/srv/data/a', edits: [{ oldText: '../x', newText: '/etc/y' }] },
      { message: '/etc/shadow', description: '../..' },
      { q: 'see ../README for details\nand /etc/hosts' }, // more than one line: text
      { q: 'hello world', n: 3, flag: true, none: null },
      { q: 'a..b', r: 'v1.2..v1.3' }, // dots, no .. segment
      { pattern: '*.ts', excludePatterns: ['node_modules', '**/dist'] },
    ])
      expect(check(args), JSON.stringify(args)).toBeNull();
  });

  it('applies only to servers with roots, and to the -- COMMAND upstream through top-level roots', () => {
    expect(check({ path: '/etc/shadow' }, 'other')).toBeNull();
    expect(policy.containment({ server: undefined, args: { path: '/etc/shadow' } })).toBeNull();
    expect(check({ path: '/work/a' }, 'cli')).toBeNull();
    expect(check({ path: '/etc/shadow' }, 'cli')).toMatch(/outside the server's roots/);
  });

  it('a root of / contains every normal absolute path but still refuses unreadable ones', () => {
    expect(containmentProblem({ path: '/etc/shadow' }, ['/'])).toBeNull();
    expect(containmentProblem({ path: '/a/../etc' }, ['/'])).toMatch(/".." segment/);
  });

  it('cuts a long argument name in the reason', () => {
    const reason = check({ [`k${'x'.repeat(500)}`]: '/etc/shadow' }) ?? '';
    expect(reason).toMatch(/^containment: argument \["kx{63}\.\.\."\] is outside/);
  });

  it('refuses arguments nested too deep to check', () => {
    let deep: unknown = '/srv/data/a';
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(check({ path: deep })).toMatch(/nested deeper/);
  });

  it('reads key names by their last word', () => {
    for (const key of ['path', 'Path', 'filePath', 'file_path', 'source-dir', 'paths', 'cwd', 'DESTINATION'])
      expect(isPathKey(key), key).toBe(true);
    for (const key of ['pathology', 'content', 'pattern', 'query', 'profile', 'target'])
      expect(isPathKey(key), key).toBe(false);
  });

  it('says what looks like a path', () => {
    for (const v of [
      '/x',
      '\\\\host\\share',
      './x',
      '../x',
      '..',
      '.',
      '~',
      '~root/x',
      'a/../b',
      'D:/x',
      'FILE:x',
    ])
      expect(looksLikePath(v), v).toBe(true);
    for (const v of ['x', 'a.b', 'a/b', 'v1..v2', 'http://x/y', '', '/x\n'])
      expect(looksLikePath(v), v).toBe(false);
  });

  it('is checked in the inline tests before any rule, like in the gate', () => {
    const results = runPolicyTests(
      policyFrom(`${ROOTED}tests:
  - { name: inside, call: { tool: read_file, server: files, args: { path: /srv/data/a } }, expect: allow }
  - { name: escape, call: { tool: read_file, server: files, args: { path: /srv/data/../x } }, expect: deny, rule: null }
`),
    );
    expect(results.map((r) => [r.test.name, r.passed, r.decision.reason])).toEqual([
      ['inside', true, 'allow by rule rule-1'],
      ['escape', true, 'containment: argument path contains a ".." segment'],
    ]);
  });

  it('refuses roots that are not absolute normal paths, and roots given twice', () => {
    const server = (roots: string) =>
      `version: 2\nservers:\n  f: { command: x, roots: ${roots} }\nrules: []\n`;
    expect(errorsOf(server('[relative/dir]'))).toEqual([
      expect.stringMatching(/servers.f.roots\[0\]: root "relative\/dir" is a relative path/),
    ]);
    expect(errorsOf(server('[/a/../b]'))[0]).toMatch(/".." segment/);
    expect(errorsOf(server('["~/x"]'))[0]).toMatch(/starts with ~/);
    expect(errorsOf(server('[]'))[0]).toMatch(/roots/);
    expect(errorsOf(`${server('[/a]')}roots: { f: [/b] }\n`)[0]).toMatch(/give them in one place/);
    expect(errorsOf(server('[/a]'))).toEqual([]);
    expect(
      errorsOf('version: 2\nservers:\n  h: { url: "http://127.0.0.1:9/mcp", roots: [/srv] }\nrules: []\n'),
    ).toEqual([]);
  });
});

describe('shell hazards', () => {
  it('finds each metacharacter, control character and look-alike', () => {
    const unsafe = [
      'ls; rm -rf /',
      'ls && id',
      'ls || id',
      'ls & id',
      'ls | sh',
      'echo `id`',
      'echo $(id)',
      'echo $\u007bHOME}', // ${HOME}, spelled so no linter reads it as a template
      'echo $HOME',
      'ls > /tmp/x',
      'ls >> /tmp/x',
      'sh < /tmp/x',
      'diff <(ls) x',
      '(id)',
      'ls\nid',
      'ls\rid',
      'ls\0id',
      'ls\tid', // a control character
      "echo 'x",
      'echo "x',
      'echo \\; id',
      'ls # --safe-flag',
      '#!/bin/sh',
      'ls\u2028id',
      'ls\u0085id',
      'ls\u200bid',
      'ls\uff1b id', // full-width semicolon
      'ls \uff5c sh', // full-width vertical line
      'echo \uff04(id)', // full-width dollar
      'echo \uff02x', // full-width quotation mark
      'echo \u00a5', // yen sign: a backslash in code page 932
      'echo \u201cx\u201d',
      'ls\ufe54 id', // small semicolon
    ];
    for (const v of unsafe) expect(shellHazard(v), JSON.stringify(v)).not.toBeNull();
  });

  it('leaves ordinary commands alone', () => {
    for (const v of [
      'ls -la /srv/data',
      'git log --oneline -n 5',
      'grep -r TODO src/*.ts',
      'find . -name x?.txt',
      'echo 100% done',
      'cat ~/notes.txt',
      'git commit -m fix#12',
      'npm run build:prod',
      'echo café',
      'a=b c,d {x} [y] ! @ ^ + = : , .',
      '',
    ])
      expect(shellHazard(v), v).toBeNull();
  });

  const policy = policyFrom(`
version: 2
default: deny
rules:
  - { id: review-unsafe, match: run_command, args: { command: { shell: unsafe } }, decision: review }
  - { id: allow-safe, match: run_command, args: { command: { shell: safe } }, decision: allow }
  - { id: argv-unsafe, match: exec, args: { argv: { shell: unsafe } }, decision: deny }
  - { id: argv-ok, match: exec, decision: allow }
`);
  const decide = (tool: string, args: unknown) => {
    const d = policy.evaluate({ tool, args });
    return [d.decision, d.rule];
  };

  it('routes unsafe commands to review and safe ones to allow', () => {
    expect(decide('run_command', { command: 'ls -la' })).toEqual(['allow', 'allow-safe']);
    expect(decide('run_command', { command: 'ls; cat /etc/shadow' })).toEqual(['review', 'review-unsafe']);
    expect(decide('run_command', { command: 'ls\nid' })).toEqual(['review', 'review-unsafe']);
    // Absent: neither holds, so the default decides.
    expect(decide('run_command', {})).toEqual(['deny', null]);
  });

  it('looks into lists and objects, and refuses what nests too deep', () => {
    expect(decide('exec', { argv: ['ls', '-la'] })).toEqual(['allow', 'argv-ok']);
    expect(decide('exec', { argv: ['ls', '$(id)'] })).toEqual(['deny', 'argv-unsafe']);
    expect(decide('exec', { argv: [{ env: { X: 'a|b' } }] })).toEqual(['deny', 'argv-unsafe']);
    expect(decide('exec', { argv: [1, true, null] })).toEqual(['allow', 'argv-ok']);
    let deep: unknown = 'ls';
    for (let i = 0; i < 100; i++) deep = [deep];
    const d = policy.evaluate({ tool: 'exec', args: { argv: deep } });
    expect([d.decision, d.reason]).toEqual([
      'deny',
      expect.stringMatching(/unreadable argument: argv.*nested deeper/),
    ]);
  });

  it('is validated: only unsafe or safe', () => {
    expect(
      errorsOf('version: 2\nrules:\n  - { match: x, args: { c: { shell: maybe } }, decision: deny }\n')[0],
    ).toMatch(/shell/);
  });
});

describe("server-filesystem's directories as its roots", () => {
  const load = (server: string) => loadPolicy(`version: 2\nservers:\n  fs: ${server}\nrules: []\n`, 't.yml');
  const rootsOf = (server: string) => {
    const r = load(server);
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    return { roots: r.policy.roots.fs, warnings: r.warnings.map((w) => w.message) };
  };

  it('derives them from npx, the bin and the entry file, leaving options out', () => {
    expect(
      rootsOf('{ command: npx, args: [-y, "@modelcontextprotocol/server-filesystem", /srv/a, /srv/b/] }'),
    ).toEqual({
      roots: ['/srv/a', '/srv/b'],
      warnings: [],
    });
    expect(
      rootsOf('{ command: npx, args: [-y, "@modelcontextprotocol/server-filesystem@2025.8.21", /srv/a] }')
        .roots,
    ).toEqual(['/srv/a']);
    expect(
      rootsOf('{ command: /usr/lib/node_modules/.bin/mcp-server-filesystem, args: [/srv/a] }').roots,
    ).toEqual(['/srv/a']);
    expect(rootsOf('{ command: node, args: [/opt/server-filesystem/dist/index.js, /srv/a] }').roots).toEqual([
      '/srv/a',
    ]);
    expect(
      rootsOf('{ command: npx, args: [-y, "@modelcontextprotocol/server-everything", /srv/a] }').roots,
    ).toBeUndefined();
  });

  it('lets explicit roots win, and warns about directories that cannot be roots', () => {
    expect(rootsOf('{ command: mcp-server-filesystem, args: [/srv/a], roots: [/srv/a/sub] }').roots).toEqual([
      '/srv/a/sub',
    ]);
    const partial = rootsOf('{ command: mcp-server-filesystem, args: [/srv/a, "$HOME/x"] }');
    // Not every directory is literal: the proxy derives them all once the server is started.
    expect(partial.roots).toBeUndefined();
    expect(partial.warnings).toEqual([
      expect.stringMatching(
        /"\$HOME\/x" has a \$NAME, which is passed as written: write \$\{NAME\} to expand it/,
      ),
    ]);
    // Relative, `~` and `${VAR}` directories are resolved at start: no warning, no roots here.
    const home = '"$' + '{HOME}/p"';
    for (const dir of ['.', '~/p', home, '../data']) {
      const started = rootsOf(`{ command: mcp-server-filesystem, args: [${dir}] }`);
      expect(started.roots).toBeUndefined();
      expect(started.warnings).toEqual([]);
    }
    const none = rootsOf('{ command: mcp-server-filesystem, args: ["/srv/a\\b"] }');
    expect(none.roots).toBeUndefined();
    expect(none.warnings[0]).toMatch(/no root could be derived, so no path is contained/);
    expect(rootsOf('{ command: mcp-server-filesystem }').warnings[0]).toMatch(/without directories/);
  });

  it('contains calls with the derived roots', () => {
    const policy = policyFrom(
      'version: 2\nservers:\n  fs: { command: mcp-server-filesystem, args: [/srv/a] }\nrules: []\n',
    );
    expect(policy.containment({ server: 'fs', args: { path: '/srv/a/x' } })).toBeNull();
    expect(policy.containment({ server: 'fs', args: { path: '/srv/a/../b' } })).toMatch(
      /^containment: argument path /,
    );
  });
});
