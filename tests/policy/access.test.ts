// kind: resource and kind: prompt rules: URI normalisation, first match, defaults, hidden templates, load checks.
import { describe, expect, it } from 'vitest';
import { loadPolicy, normalizeResourceUri, runPolicyTests } from '../../src/policy/index.js';
import { errorsOf, policyFrom } from './helpers.js';

const POLICY = `version: 2
rules:
  - { id: no-etc, kind: resource, match: "file:///etc/**", decision: deny, reason: "system files" }
  - { id: pub, kind: resource, match: "file:///srv/pub/**", decision: allow }
  - { id: ask, kind: resource, match: "db://prod/**", decision: review }
  - { id: no-admin, kind: prompt, match: "admin-*", decision: deny }
  - { id: tools, match: "*", decision: allow }
`;

const read = (uri: string) =>
  policyFrom(POLICY).evaluateAccess({ kind: 'resource', name: uri, server: 'fs' });

describe('normalizeResourceUri', () => {
  it.each([
    ['FILE:///etc/passwd', 'file:///etc/passwd'],
    ['file:///srv/./pub/../pub/a', 'file:///srv/pub/a'],
    ['file:///srv//pub///a', 'file:///srv/pub/a'],
    ['file:///%65tc/passwd', 'file:///etc/passwd'],
    ['file:///caf%C3%A9', 'file:///café'],
    ['file:///a%3Fb', 'file:///a%3Fb'],
    ['file:///a%3fb', 'file:///a%3Fb'],
    ['file://LOCALHOST/etc/x', 'file:///etc/x'],
    ['HTTP://Example.COM/A/b', 'http://example.com/A/b'],
    ['file:///srv/pub/.', 'file:///srv/pub/'],
    ['test://static/resource/1', 'test://static/resource/1'],
    ['urn:a:b', 'urn:a:b'],
    ['file:/etc/passwd', 'file:///etc/passwd'],
    ['file:/etc/../srv/x', 'file:///srv/x'],
    ['http://h/a?q=1#frag', 'http://h/a?q=1#frag'],
  ])('%s -> %s', (input, output) => {
    expect(normalizeResourceUri(input)).toEqual({ ok: true, uri: output });
  });

  it.each([
    ['no scheme', '/etc/passwd'],
    ['above the root', 'file:///../etc/passwd'],
    ['encoded slash', 'file:///etc%2Fpasswd'],
    ['encoded backslash', 'file:///etc%5Cpasswd'],
    ['double encoding', 'file:///%252e%252e/etc'],
    ['encoded NUL', 'file:///etc/passwd%00.txt'],
    ['broken escape', 'file:///etc/%zz'],
    ['not UTF-8', 'file:///%ff'],
    ['backslash', 'file:///srv\\..\\etc'],
    ['space', 'file:///etc/ passwd'],
    ['control', 'file:///etc/\npasswd'],
    ['full-width solidus', 'file:///etc\uff0fpasswd'],
    ['zero-width space', 'file:///e\u200btc/passwd'],
    ['not a string', 42],
    ['relative file URI', 'file:etc/passwd'],
    ['dot-dot in the fragment', 'file:///srv/pub/x#/../../../etc/shadow'],
    ['dot-dot in the query', 'file:///srv/pub/x?/../../etc/shadow'],
  ])('refuses %s', (_label, input) => {
    expect(normalizeResourceUri(input).ok).toBe(false);
  });
});

describe('resource and prompt decisions', () => {
  it('denies every spelling of a denied URI', () => {
    for (const uri of [
      'file:///etc/shadow',
      'file:///etc/../etc/shadow',
      'file:///srv/pub/../../etc/shadow',
      'file:///%65tc/shadow',
      'file:///%2e%2e/etc/shadow',
      'FILE:///etc/shadow',
      'file:///ETC/shadow',
      'file:///Etc/./shadow',
      'file://localhost/etc/shadow',
      'file:////etc/shadow',
      'file:///etc%2Fshadow',
      'file:/etc/shadow',
      'file:/srv/../etc/shadow',
      'file:///srv/pub/a#/../../../etc/shadow',
    ]) {
      expect(read(uri).decision, uri).toBe('deny');
    }
    expect(read('file:///etc/shadow').rule).toBe('no-etc');
  });

  it('allows by the first matching rule, exact spelling only', () => {
    expect(read('file:///srv/pub/a.txt')).toMatchObject({ decision: 'allow', rule: 'pub' });
    expect(read('file:///srv/pub/%61.txt')).toMatchObject({ decision: 'allow', rule: 'pub' });
    // An allow rule does not ignore case: the variant falls to the default (allow here), not to the rule.
    expect(read('file:///SRV/pub/a.txt').rule).toBe(null);
  });

  it('keeps each rule’s own results: whatever kinds come before it', () => {
    const p = policyFrom(`version: 2
rules:
  - { id: res, kind: resource, match: "file:///srv/**", decision: allow, results: { secrets: block } }
  - { id: t, match: "x", decision: allow, results: { secrets: allow } }
`);
    expect(p.resultsFor('res').secrets).toBe('block');
    expect(p.resultsFor('t').secrets).toBe('allow');
  });

  it('sends a review rule to review (the gate queues it for a person)', () => {
    expect(read('db://prod/users')).toMatchObject({ decision: 'review', rule: 'ask' });
  });

  it('explains a resource and a prompt: each rule looked at, then the default', () => {
    const d = policyFrom(POLICY).evaluateAccess(
      { kind: 'resource', name: 'file:///srv/pub/a.txt', server: 'fs' },
      { explain: true },
    );
    expect(d.trace?.at(-1)).toMatchObject({ rule: 'pub', matched: true });
    const p = policyFrom(
      'version: 2\ndefault_prompts: deny\nrules:\n  - { id: g, kind: prompt, match: greet, decision: allow }\n',
    );
    const other = p.evaluateAccess({ kind: 'prompt', name: 'other' }, { explain: true });
    expect(other).toMatchObject({ decision: 'deny', rule: null });
    expect(other.trace).toEqual([{ rule: 'g', matched: false, detail: 'prompt other does not match greet' }]);
  });

  it('keeps today’s behaviour without resource rules: everything allowed, nothing normalised', () => {
    const p = policyFrom('version: 2\nrules:\n  - { match: "*", decision: deny }\n');
    expect(p.evaluateAccess({ kind: 'resource', name: 'file:///etc/shadow' }).decision).toBe('allow');
    expect(p.evaluateAccess({ kind: 'resource', name: 'not a uri' }).decision).toBe('allow');
    expect(p.evaluateAccess({ kind: 'prompt', name: 'anything' }).decision).toBe('allow');
    expect(p.hidesTemplate({ template: 'file:///{path}' })).toBe(false);
  });

  it('default_resources and default_prompts deny what no rule allows', () => {
    const p = policyFrom(`version: 2
default_resources: deny
default_prompts: deny
rules:
  - { kind: resource, match: "test://static/resource/1", decision: allow }
  - { kind: prompt, match: simple-prompt, decision: allow }
`);
    expect(p.evaluateAccess({ kind: 'resource', name: 'test://static/resource/1' }).decision).toBe('allow');
    expect(p.evaluateAccess({ kind: 'resource', name: 'test://static/resource/2' })).toMatchObject({
      decision: 'deny',
      rule: null,
    });
    expect(p.evaluateAccess({ kind: 'resource', name: 'no scheme' }).decision).toBe('deny');
    expect(p.evaluateAccess({ kind: 'prompt', name: 'simple-prompt' }).decision).toBe('allow');
    expect(p.evaluateAccess({ kind: 'prompt', name: 'other' }).decision).toBe('deny');
    // A tool rule never decides a resource, and a resource rule never decides a tool.
    expect(p.evaluate({ tool: 'simple-prompt' }).decision).toBe('deny');
  });

  it('matches prompt names like tool names, ignoring case', () => {
    const p = policyFrom(POLICY);
    expect(p.evaluateAccess({ kind: 'prompt', name: 'ADMIN-reset' })).toMatchObject({
      decision: 'deny',
      rule: 'no-admin',
    });
    expect(p.evaluateAccess({ kind: 'prompt', name: 'greet' }).decision).toBe('allow');
    expect(p.evaluate({ tool: 'admin-reset' }).decision).toBe('allow');
  });

  it('hides a template only when every URI it can expand to is denied', () => {
    const p = policyFrom(POLICY);
    expect(p.hidesTemplate({ template: 'file:///etc/{name}' })).toBe(true);
    expect(p.hidesTemplate({ template: 'FILE:///etc/conf/{name}' })).toBe(true);
    expect(p.hidesTemplate({ template: 'file:///{path}' })).toBe(false);
    expect(p.hidesTemplate({ template: 'file:///srv/pub/{name}' })).toBe(false);
    // Under review, not denied: offered, and each read waits for a person.
    expect(p.hidesTemplate({ template: 'db://prod/{table}' })).toBe(false);
    const closed = policyFrom(`version: 2
default_resources: deny
rules:
  - { kind: resource, match: "test://static/resource/1", decision: allow }
`);
    expect(closed.hidesTemplate({ template: 'test://static/resource/{id}' })).toBe(false);
    expect(closed.hidesTemplate({ template: 'other://x/{id}' })).toBe(true);
  });
});

describe('loading kind rules', () => {
  it('refuses arguments on resource and prompt rules and resource globs without a scheme', () => {
    const errors = errorsOf(`version: 2
rules:
  - { kind: resource, match: "/etc/**", decision: deny }
  - { kind: prompt, match: p, args: { x: { eq: 1 } }, decision: deny }
  - { kind: resource, match: "file:///x", cap_cents: 5, decision: allow }
`);
    expect(errors.join('\n')).toContain('must start with a scheme');
    expect(errors.join('\n')).toContain('rules[1].args: a kind: prompt rule has no arguments to read');
    expect(errors.join('\n')).toContain('rules[2].cap_cents');
  });

  it('refuses resource globs in a spelling no normalised URI has, and warns that review denies', () => {
    const errors = errorsOf(`version: 2
rules:
  - { kind: resource, match: "file:///etc/../etc/shadow", decision: deny }
  - { kind: resource, match: "file:///%65tc/**", decision: deny }
  - { kind: resource, match: "file:///srv/./**", decision: deny }
  - { kind: resource, match: "file:///a%2Fb", decision: deny }
  - { kind: resource, match: "file:///a%3F*", decision: deny }
  - { kind: resource, match: "FILE:///ok/**", decision: deny }
`).join('\n');
    expect(errors).toContain('rules[0].match: resource glob "file:///etc/../etc/shadow" can never match');
    expect(errors).toContain('(as "file:///etc/shadow")');
    expect(errors).toContain('rules[1].match');
    expect(errors).toContain('rules[2].match');
    expect(errors).toContain('rules[3].match');
    expect(errors).not.toContain('rules[4]');
    expect(errors).not.toContain('rules[5]');
    const loaded = loadPolicy(
      'version: 2\nrules:\n  - { kind: prompt, match: x, decision: review }\n',
      't.yml',
    );
    expect(loaded.warnings).toEqual([]);
  });

  it('refuses an unknown kind and accepts kind: tool as the default', () => {
    expect(errorsOf('version: 2\nrules:\n  - { kind: file, match: x, decision: deny }\n').length).toBe(1);
    const p = policyFrom('version: 2\nrules:\n  - { kind: tool, match: x, decision: allow }\n');
    expect(p.evaluate({ tool: 'x' }).decision).toBe('allow');
  });

  it('a catch-all of one kind does not shadow rules of another', () => {
    const p = policyFrom(`version: 2
rules:
  - { kind: resource, match: "**", decision: deny }
  - { match: "*", decision: allow }
`);
    expect(p.evaluate({ tool: 'x' }).decision).toBe('allow');
    expect(p.evaluateAccess({ kind: 'resource', name: 'a://b' }).decision).toBe('deny');
  });
});

describe('inline tests of resources and prompts', () => {
  it('runs tests with resource: and prompt: instead of tool:', () => {
    const p = policyFrom(`${POLICY}tests:
  - { name: shadow, call: { resource: "file:///etc/../etc/shadow" }, expect: deny, rule: no-etc }
  - { name: pub, call: { resource: "file:///srv/pub/a" }, expect: allow, rule: pub }
  - { name: admin, call: { prompt: admin-reset }, expect: deny, rule: no-admin }
  - { name: wrong, call: { prompt: greet }, expect: deny }
  - { name: tool, call: { tool: admin-reset }, expect: allow, rule: tools }
`);
    const results = runPolicyTests(p).map((r) => [r.test.name, r.passed]);
    expect(results).toEqual([
      ['shadow', true],
      ['pub', true],
      ['admin', true],
      ['wrong', false],
      ['tool', true],
    ]);
  });

  it('needs exactly one of tool, resource and prompt, and arguments only for a tool', () => {
    const errors = errorsOf(`version: 2
rules: []
tests:
  - { name: none, call: { server: a }, expect: deny }
  - { name: two, call: { tool: x, prompt: y }, expect: deny }
  - { name: args, call: { prompt: y, args: { a: 1 } }, expect: deny }
`).join('\n');
    expect(errors).toContain('tests[0].call: give exactly one of tool, resource, prompt');
    expect(errors).toContain('tests[1].call: give exactly one');
    expect(errors).toContain('tests[2].call.args: only a tool call has arguments');
  });
});
