// Path arguments: the normaliser, path_glob in deny and allow rules, lists of paths, and the shipped filesystem policy.
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { foldCase, normalizeFilePath, type PathProblemCode } from '../../src/policy/file-paths.js';
import { type Call, loadPolicy, runPolicyTests } from '../../src/policy/index.js';
import { compilePathGlobs, type PathMode, regexPathMatcher } from '../../src/policy/path-globs.js';
import { errorsOf, policyFrom, repoFile } from './helpers.js';

describe('normalizeFilePath', () => {
  it('resolves ., repeated and trailing separators to one canonical absolute path', () => {
    const cases: [string, string][] = [
      ['/srv/app/.env', '/srv/app/.env'],
      ['/srv/app/./.env', '/srv/app/.env'],
      ['/srv/app/.env/', '/srv/app/.env'],
      ['/srv/app/.env/.', '/srv/app/.env'],
      ['/srv/app/.env/./', '/srv/app/.env'],
      ['/srv//app///.ssh/id_rsa', '/srv/app/.ssh/id_rsa'],
      ['/./etc/shadow', '/etc/shadow'],
      ['/etc/shadow/.', '/etc/shadow'],
      ['/', '/'],
      ['/.', '/'],
      ['/./', '/'],
      ['/srv/a b/c', '/srv/a b/c'],
      ['/srv/100%/x', '/srv/100%/x'], // a % that is not an escape
      ['/srv/~/x', '/srv/~/x'], // only a leading ~ is a home directory
      ['/srv/file~', '/srv/file~'],
      ['/srv/café', '/srv/café'],
    ];
    for (const [input, path] of cases)
      expect(normalizeFilePath(input), input).toMatchObject({ ok: true, path });
  });

  it('reads NFD input as its NFC form and says it was not NFC', () => {
    const nfd = '/srv/cafe\u0301/x';
    expect(normalizeFilePath(nfd)).toEqual({
      ok: true,
      path: '/srv/caf\u00e9/x',
      wasNfc: false,
      ascii: false,
    });
    expect(normalizeFilePath('/srv/caf\u00e9/x')).toMatchObject({ ok: true, wasNfc: true });
  });

  it('refuses every spelling whose meaning depends on the server, its platform or its directories', () => {
    const cases: [unknown, PathProblemCode][] = [
      [42, 'not_string'],
      [['/srv/.env'], 'not_string'],
      [null, 'not_string'],
      ['', 'empty'],
      [`/${'a'.repeat(4096)}`, 'too_long'],
      ['/srv/.env\u0000', 'control'],
      ['/srv/.env\n', 'control'],
      ['/srv/\u0085x', 'control'],
      ['/srv/\u007f', 'control'],
      ['/srv/\ud800x', 'surrogate'],
      ['/srv/x\udc00', 'surrogate'],
      ['/srv/\u200b.env', 'invisible'],
      ['/srv/.e\u00adnv', 'invisible'],
      ['/srv/\u202e.env', 'invisible'],
      ['/srv/\ufeff.env', 'invisible'],
      ['/srv/\uff0eenv', 'lookalike'],
      ['/srv\uff0f.env', 'lookalike'],
      ['/srv\u2215.env', 'lookalike'],
      ['/srv\uff3c.env', 'lookalike'],
      ['/srv/\u2024\u2024/etc', 'lookalike'],
      ['/srv/app\\.env', 'backslash'],
      ['\\\\server\\share\\x', 'backslash'],
      ['file:///srv/.env', 'url'],
      ['https://x/.env', 'url'],
      ['C:/Users/me/.ssh/id_rsa', 'colon'],
      ['/srv/.env::$DATA', 'colon'],
      ['/srv/%2eenv', 'percent'],
      ['/srv/app/%2e%2e/.env', 'percent'],
      ['/srv/%2F.env', 'percent'],
      ['/srv/%u002e%u002e/etc', 'percent'],
      [' /srv/.env', 'whitespace'],
      ['/srv/.env\u00a0', 'whitespace'],
      ['"/srv/.env"', 'quote'],
      ["/srv/.env'", 'quote'],
      ['~/.ssh/id_rsa', 'home'],
      ['~', 'home'],
      ['~root/.ssh', 'home'],
      ['.env', 'relative'],
      ['./.env', 'relative'],
      ['app/.env', 'relative'],
      ['.', 'relative'],
      ['//srv/.env', 'network'],
      ['///etc/shadow', 'network'],
      ['/srv/app/../.env', 'dot_dot'],
      ['/srv/..', 'dot_dot'],
      ['/srv/.env.', 'trailing'],
      ['/srv/.env /x', 'trailing'],
      ['/srv/...', 'trailing'],
      ['/srv/SSH~1/id_rsa', 'short_name'],
    ];
    for (const [input, code] of cases) {
      const read = normalizeFilePath(input);
      expect(read, JSON.stringify(input)).toMatchObject({ ok: false, code });
    }
    expect(normalizeFilePath(`/${'a'.repeat(4095)}`).ok).toBe(true);
  });
});

// The shipped policy before this change: one raw glob on `path`, and read_multiple_files sent to review.
const OLD_SECRET_GLOB = '**/{.env,.env.*,*.pem,*.key,id_rsa,id_ed25519,.ssh/**,.aws/**}';
const oldRawRule = picomatch(OLD_SECRET_GLOB, { dot: true, nonegate: true, noextglob: true });
const oldDotDot = (v: string) => v.split(/[\\/]/).includes('..') || v.includes('\0');
/** What the old no-secrets rule did with a value: true when it denied it. */
const oldDenied = (v: string) => oldRawRule(v) || oldDotDot(v);

const shipped = (() => {
  const result = loadPolicy(repoFile('policies/filesystem.yml'), 'policies/filesystem.yml');
  if (!result.ok) throw new Error('policies/filesystem.yml does not load');
  return result.policy;
})();

const READ_TOOLS = ['read_text_file', 'read_file', 'read_media_file', 'get_file_info', 'list_directory'];

describe('the shipped policies/filesystem.yml', () => {
  it('passes its own inline tests', () => {
    const results = runPolicyTests(shipped);
    expect(results.filter((r) => !r.passed).map((r) => `${r.test.name}: ${r.failure}`)).toEqual([]);
    expect(results.length).toBeGreaterThan(40);
  });

  it('denies the spellings the old raw glob let through to the server', () => {
    const leaked = [
      '/home/me/app/./.env',
      '/home/me/app/.env/',
      '/home/me/app/.env/.',
      '/./home/me/.ssh/id_rsa',
      '/home/me/.ssh/./id_rsa',
      '/home/me/.ssh',
      '/home/me/app/.ENV',
      '/home/me/.SSH/config',
      './.env',
      'app/./.env',
      '/home/me/app/%2eenv',
      '/home/me/app/.env.',
      '"/home/me/app/.env"',
    ];
    for (const path of leaked) {
      expect(oldDenied(path), `old rule on ${path}`).toBe(false);
      for (const tool of READ_TOOLS) {
        const d = shipped.evaluate({ tool, args: { path } });
        expect(d, `${tool} ${path}`).toMatchObject({ decision: 'deny', rule: 'no-secrets' });
      }
    }
  });

  it('denies a secret anywhere in read_multiple_files, which the old policy could only send to a person', () => {
    const d = shipped.evaluate({
      tool: 'read_multiple_files',
      args: { paths: ['/home/me/app/README.md', '/home/me/app/./.env'] },
    });
    expect(d).toMatchObject({ decision: 'deny', rule: 'no-secrets-in-lists' });
    expect(
      shipped.evaluate({ tool: 'read_multiple_files', args: { paths: ['/home/me/app/README.md'] } }),
    ).toMatchObject({ decision: 'allow', rule: 'reads' });
  });

  it('names the argument and the problem when it denies a path it cannot read', () => {
    const d = shipped.evaluate({ tool: 'read_text_file', args: { path: 'notes/todo.md' } });
    expect(d.decision).toBe('deny');
    expect(d.reason).toBe(
      'unreadable argument: path is a relative path (the server resolves it against a directory the policy cannot see)',
    );
    const many = shipped.evaluate({ tool: 'read_multiple_files', args: { paths: ['/a/b', '/a/../c'] } });
    expect(many.reason).toBe('unreadable argument: paths[*] element 1 contains a ".." segment');
    const move = shipped.evaluate({ tool: 'move_file', args: { source: '/a/b', destination: 'c:\\x' } });
    expect(move).toMatchObject({ decision: 'deny', rule: 'no-secrets-moved-to' });
    expect(move.reason).toContain('destination contains ":"');
  });

  it('denies every random respelling of a secret, and lets every respelling of an ordinary file through', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    // Respellings that name the same file: extra ./ and / between segments, a trailing / or /.
    const respell = (path: string): string => {
      const parts = path.split('/').slice(1);
      let out = '';
      // A leading // is refused (a network share on Windows), so the first separator is a single /.
      for (const [i, part] of parts.entries())
        out += (i === 0 ? pick(['/', '/./', '/././']) : pick(['/', '/', '//', '/./', '/././', '///'])) + part;
      return out + pick(['', '', '/', '/.', '/./', '//']);
    };
    const flipCase = (s: string) =>
      [...s].map((c) => (rand() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
    const secrets = [
      '/home/me/projects/app/.env',
      '/home/me/projects/app/.env.local',
      '/home/me/.ssh/id_rsa',
      '/home/me/.ssh',
      '/home/me/.aws/credentials',
      '/srv/tls/server.pem',
      '/srv/tls/server.key',
      '/home/me/.gnupg/private-keys-v1.d/x.key',
    ];
    const ordinary = [
      '/home/me/projects/app/README.md',
      '/home/me/projects/app/src/env.ts',
      '/srv/tls/notes',
    ];
    for (let i = 0; i < 400; i++) {
      const secret = pick(secrets);
      const spelled = respell(rand() < 0.5 ? flipCase(secret) : secret);
      const tool = pick([...READ_TOOLS, 'write_file', 'edit_file', 'directory_tree', 'search_files']);
      const call: Call = { tool, args: { path: spelled } };
      expect(shipped.evaluate(call), `${tool} ${spelled}`).toMatchObject({ decision: 'deny' });
      const many = shipped.evaluate({
        tool: 'read_multiple_files',
        args: { paths: [pick(ordinary), spelled] },
      });
      expect(many, spelled).toMatchObject({ decision: 'deny', rule: 'no-secrets-in-lists' });
      const moved = shipped.evaluate({ tool: 'move_file', args: { source: spelled, destination: '/tmp/x' } });
      expect(moved, spelled).toMatchObject({ decision: 'deny', rule: 'no-secrets-moved-from' });

      const plain = respell(pick(ordinary));
      expect(shipped.evaluate({ tool: 'read_text_file', args: { path: plain } }), plain).toMatchObject({
        decision: 'allow',
        rule: 'reads',
      });
    }
  });
});

describe('path_glob conditions', () => {
  const p = policyFrom(`
version: 2
rules:
  - id: secrets
    match: "*"
    args: { path: { path_glob: ["**/.ssh", "/srv/Private/**", "**/*.pem"] } }
    decision: deny
  - id: secret-lists
    match: "*"
    args: { "paths[*]": { path_glob: "**/.ssh" } }
    decision: deny
  - id: nested-lists
    match: nested
    args: { "files[*].path": { path_glob: "**/.ssh" } }
    decision: deny
  - id: reviewed
    match: review_me
    args: { path: { path_glob: "/srv/audit" } }
    decision: review
  - id: data-only
    match: read
    args: { path: { path_glob: "/srv/data/**" } }
    decision: allow
  - id: data-lists
    match: read_many
    args: { "paths[*]": { path_glob: "/srv/data/**" } }
    decision: allow
  - id: exact-dir
    match: list
    args: { path: { path_glob: "/srv/data" } }
    decision: allow
  - id: fallback
    match: "*"
    decision: review
`);
  const decide = (tool: string, args: unknown) => p.evaluate({ tool, args });

  it('in a deny rule: ignores case, covers what is inside a matching directory, folds Unicode', () => {
    for (const path of [
      '/home/me/.ssh',
      '/home/me/.SSH/id_rsa',
      '/home/me/.ssh/sub/dir/key',
      '/srv/private/x',
      '/SRV/PRIVATE',
      '/srv/tls/Server.PEM',
      '/srv/tls/server.pem/inside', // a directory that matches covers its contents
      '/home/me/.\u017fsh/id_rsa', // LATIN SMALL LONG S folds to s on case-insensitive file systems
    ]) {
      expect(decide('any', { path }), path).toMatchObject({ decision: 'deny', rule: 'secrets' });
    }
    expect(decide('any', { path: '/home/me/.sshx' }).rule).toBe('fallback');
    expect(decide('any', { path: '/srv/privatex' }).rule).toBe('fallback');
    // NFD spelling of a denied name (the server matches names by NFC).
    const q = policyFrom(
      'version: 2\nrules:\n  - {id: d, match: "*", args: {path: {path_glob: "/srv/caf\u00e9"}}, decision: deny}\n',
    );
    expect(q.evaluate({ tool: 'x', args: { path: '/srv/cafe\u0301/menu' } }).rule).toBe('d');
    expect(q.evaluate({ tool: 'x', args: { path: '/srv/CAF\u00c9' } }).rule).toBe('d');
  });

  it('in a review rule: the same wide reading as a deny rule', () => {
    expect(decide('review_me', { path: '/SRV/audit/./2026/' })).toMatchObject({ rule: 'reviewed' });
  });

  it('in an allow rule: exact case, NFC input, and only the paths the glob itself names', () => {
    expect(decide('read', { path: '/srv/data/a/b.txt' })).toMatchObject({
      decision: 'allow',
      rule: 'data-only',
    });
    expect(decide('read', { path: '/srv//data/./a/' })).toMatchObject({
      decision: 'allow',
      rule: 'data-only',
    });
    expect(decide('read', { path: '/SRV/data/a' }).rule).toBe('fallback');
    expect(decide('read', { path: '/srv/datax/a' }).rule).toBe('fallback');
    expect(decide('list', { path: '/srv/data/' })).toMatchObject({ decision: 'allow', rule: 'exact-dir' });
    expect(decide('list', { path: '/srv/data/inner' }).rule).toBe('fallback');
    const q = policyFrom(
      'version: 2\nrules:\n  - {id: a, match: "*", args: {path: {path_glob: "/srv/caf\u00e9/**"}}, decision: allow}\n',
    );
    expect(q.evaluate({ tool: 'x', args: { path: '/srv/caf\u00e9/m' } }).rule).toBe('a');
    expect(q.evaluate({ tool: 'x', args: { path: '/srv/cafe\u0301/m' } }).rule).toBeNull();
  });

  it('denies a path it cannot read in any rule, naming the argument', () => {
    for (const [tool, path] of [
      ['read', '/srv/data/../../etc/passwd'],
      ['read', 'data/a'],
      ['read', 42],
      ['any', '~/.ssh/id_rsa'],
    ] as const) {
      const d = decide(tool, { path });
      expect(d, `${tool} ${String(path)}`).toMatchObject({ decision: 'deny' });
      expect(d.reason).toMatch(/^unreadable argument: path /);
    }
    // An absent argument is not a path: the condition is false, as for every condition but present: false.
    expect(decide('read', {}).rule).toBe('fallback');
  });

  it('on a list: a deny rule holds when ANY element matches, an allow rule when EVERY one does', () => {
    expect(decide('x', { paths: ['/a', '/b/.SSH/'] })).toMatchObject({
      decision: 'deny',
      rule: 'secret-lists',
    });
    expect(decide('x', { paths: ['/a', '/b'] }).rule).toBe('fallback');
    expect(decide('x', { paths: [] }).rule).toBe('fallback');
    expect(decide('read_many', { paths: ['/srv/data/a', '/srv/data/b/'] })).toMatchObject({
      decision: 'allow',
      rule: 'data-lists',
    });
    expect(decide('read_many', { paths: ['/srv/data/a', '/srv/other'] }).rule).toBe('fallback');
    expect(decide('read_many', { paths: [] }).rule).toBe('fallback'); // nothing to be sure of
    // An element that is not a path, or a list that is not a list: unreadable, so denied.
    expect(decide('x', { paths: ['/a', 'rel/.ssh'] })).toMatchObject({ decision: 'deny' });
    expect(decide('x', { paths: ['/a', 7] }).reason).toBe(
      'unreadable argument: paths[*] element 1 is not a string',
    );
    expect(decide('x', { paths: '/b/.ssh' }).reason).toBe(
      'unreadable argument: paths[*] is not a list where [*] expects one',
    );
    expect(decide('read_many', { paths: ['/srv/data/a', '/srv/data/../x'] })).toMatchObject({
      decision: 'deny',
    });
    // A matching element decides a deny rule even next to an unreadable one.
    expect(decide('x', { paths: ['rel', '/b/.ssh'] })).toMatchObject({
      decision: 'deny',
      rule: 'secret-lists',
    });
    expect(decide('nested', { files: [{ path: '/x' }, { path: '/y/.ssh/k' }] }).rule).toBe('nested-lists');
    expect(decide('nested', { files: [{ path: '/x' }, { name: 'no path' }] }).reason).toBe(
      'unreadable argument: files[*].path is missing in an element',
    );
    expect(decide('nested', {}).rule).toBe('fallback');
  });
});

describe('plain glob on paths', () => {
  it('matches a glob written like a path as a path, and warns to say path_glob', () => {
    const text = `version: 2
rules:
  - { id: no-docs, match: write, args: { path: { glob: "**/docs/**" } }, decision: deny }
  - { id: under-srv, match: read, args: { path: { glob: "/srv/**" } }, decision: allow }
  - { id: fallback, match: "*", decision: review }
`;
    const result = loadPolicy(text, 't.yml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings.map((w) => `${w.line}:${w.col} ${w.message}`)).toEqual([
      '3:56 rules[0].args.path: glob "**/docs/**" is written like a path, so it is matched as one (normalised, see path_glob); write path_glob to say so',
      '4:57 rules[1].args.path: glob "/srv/**" is written like a path, so it is matched as one (normalised, see path_glob); write path_glob to say so',
    ]);
    const p = result.policy;
    for (const path of ['/x/docs/./a', '/x/DOCS/a'])
      expect(oldRawRuleFor('**/docs/**')(path), path).toBe(false);
    for (const path of ['/x/docs/./a', '/x/DOCS/a', '/x//docs', '/x/docs/']) {
      expect(p.evaluate({ tool: 'write', args: { path } }), path).toMatchObject({ rule: 'no-docs' });
    }
    expect(p.evaluate({ tool: 'write', args: { path: 'docs/a' } })).toMatchObject({ decision: 'deny' });
    expect(p.evaluate({ tool: 'read', args: { path: '/srv/a/./b' } }).rule).toBe('under-srv');
    expect(p.evaluate({ tool: 'read', args: { path: 'srv/a' } }).decision).toBe('deny');
  });

  it('requires both when one condition has a plain path glob and a path_glob', () => {
    const p = policyFrom(`version: 2
rules:
  - { id: both, match: w, args: { path: { glob: "/srv/**", path_glob: "**/*.md" } }, decision: deny }
`);
    expect(p.evaluate({ tool: 'w', args: { path: '/srv/a.md' } }).rule).toBe('both');
    expect(p.evaluate({ tool: 'w', args: { path: '/srv/a.txt' } }).rule).toBeNull();
    expect(p.evaluate({ tool: 'w', args: { path: '/home/a.md' } }).rule).toBeNull();
  });

  it('keeps raw string matching for globs that are not written like paths, such as URLs and ids', () => {
    const p = policyFrom(`version: 2
rules:
  - { id: docs-site, match: fetch, args: { url: { glob: "https://docs.example.com/**" } }, decision: allow }
  - { id: customers, match: get, args: { id: { glob: "cus_*" } }, decision: allow }
`);
    expect(p.evaluate({ tool: 'fetch', args: { url: 'https://docs.example.com/a/b?c=1' } }).rule).toBe(
      'docs-site',
    );
    expect(p.evaluate({ tool: 'fetch', args: { url: 'https://docs.example.com/a/../../x' } })).toMatchObject({
      decision: 'deny',
      rule: 'docs-site',
    });
    expect(p.evaluate({ tool: 'get', args: { id: 'cus_123' } }).rule).toBe('customers');
  });
});

function oldRawRuleFor(glob: string): (v: string) => boolean {
  return picomatch(glob, { dot: true, nonegate: true, noextglob: true });
}

describe('validation of path globs', () => {
  const rule = (cond: string) =>
    `version: 2\nrules:\n  - {match: x, decision: deny, args: {path: ${cond}}}\n`;

  it('refuses path globs that no normalised path can match, with positions', () => {
    expect(errorsOf(rule('{path_glob: "*.pem"}'))).toEqual([
      'test.yml:3:57: rules[0].args.path: path glob "*.pem" must start with / or **/ (it is matched against absolute paths)',
    ]);
    expect(errorsOf(rule('{path_glob: ["/ok", "/srv/"]}'))[0]).toMatch(/^test.yml:3:65: .*ends with \//);
    for (const glob of ['/srv/../x', '/srv/./x', '/srv//x', '**/a\\\\b', 'C:/x', '/x:y', '~/x', '.env']) {
      expect(errorsOf(rule(`{path_glob: "${glob}"}`)), glob).toHaveLength(1);
    }
    expect(errorsOf(rule('{path_glob: "!/srv/**"}'))[0]).toMatch(/negation/);
    expect(errorsOf(rule('{path_glob: "/srv/@(a|b)"}'))[0]).toMatch(/extglob/);
    expect(errorsOf(rule('{path_glob: []}'))[0]).toMatch(/path_glob/);
    expect(errorsOf(rule('{glob: "/srv/./x"}'))[0]).toMatch(/"\." or "\.\." segment/);
    for (const glob of ['/', '**', '/srv/**', '**/.env', '/srv/{a,b}/*.txt', '/srv/[ab]?/x']) {
      expect(errorsOf(rule(`{path_glob: "${glob}"}`)), glob).toEqual([]);
    }
  });

  it('allows [*] only for a path_glob alone (and caps)', () => {
    const many = (cond: string) =>
      `version: 2\nrules:\n  - {match: x, decision: deny, args: {"paths[*]": ${cond}}}\n`;
    expect(errorsOf(many('{path_glob: "/x"}'))).toEqual([]);
    expect(errorsOf(many('{path_glob: "/x", present: true}'))[0]).toMatch(
      /\[\*\] is only for caps and path_glob/,
    );
    expect(errorsOf(many('{glob: "/x"}'))[0]).toMatch(/\[\*\] is only for caps and path_glob/);
  });
});

describe('the fast path matcher', () => {
  it('agrees with the plain picomatch reading on random globs and paths, in both modes', () => {
    let seed = 11;
    const rand = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const names = ['a', 'b', 'A', '.env', '.ENV', '.env.local', 'k.pem', 'K.PEM', 'id_rsa', 'id_rsa.pub'];
    const more = ['x', 'abc', 'bc', '\u00c9', '\u00e9', 'e\u0301', 'ss', '\u00df', '.ssh', 'pem', 'a.b'];
    const segments = [...names, ...more];
    const segmentGlobs = [
      '.env',
      '.env.*',
      '*.pem',
      'id_rsa*',
      'x',
      '*',
      'a?c',
      '[ab]c',
      '{.env,.ssh}',
      '\u00c9',
      '\u00df',
    ];
    const globOf = (): string =>
      pick([
        () => `**/${pick(segmentGlobs)}`,
        () => `**/${pick(segmentGlobs)}/**`,
        () => `/${pick(segments)}/${pick(segments)}`,
        () => `/${pick(segments)}/${pick(segments)}/**`,
        () => `/${pick(segments)}/*/${pick(segmentGlobs)}`,
        () => `/${pick(segments)}/**/${pick(segmentGlobs)}`,
        () => pick(['**', '/', '/**', '/*']),
      ])();
    const pathOf = (): string => {
      const n = Math.floor(rand() * 4);
      return `/${Array.from({ length: n }, () => pick(segments)).join('/')}`;
    };
    let matched = 0;
    for (let round = 0; round < 300; round++) {
      const globs = Array.from({ length: 1 + Math.floor(rand() * 3) }, globOf);
      for (const mode of ['may', 'sure'] as PathMode[]) {
        const fast = compilePathGlobs(globs, mode);
        const reference = regexPathMatcher(globs, mode);
        for (let i = 0; i < 30; i++) {
          const read = normalizeFilePath(pathOf());
          if (!read.ok) throw new Error('generated an unreadable path');
          const expected =
            mode === 'may' ? reference(foldCase(read.path, read.ascii)) : read.wasNfc && reference(read.path);
          expect(fast(read), JSON.stringify({ globs, mode, path: read.path })).toBe(expected);
          if (expected) matched++;
        }
      }
    }
    expect(matched).toBeGreaterThan(1000); // the comparison is not just "both say no"
  });
});
