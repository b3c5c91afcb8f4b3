// The flow memory and matcher alone: what a sensitive result leaves behind, what a later call is found to carry, and what not.
import { describe, expect, it } from 'vitest';
import { FlowMemory, failedFlowCheck, flowReason } from '../../src/flow/index.js';
import { testClock } from '../helpers/clock.js';

const LIMITS = { windowMs: 30 * 60_000, minLength: 8 };
const VAULT = { server: 'vault', tool: 'read_secret', rule: 'secrets-read' };
const OTHER = { server: 'web', tool: 'fetch' };
const SECRET = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
const b64 = (text: string) => Buffer.from(text).toString('base64');

function memoryWith(result: unknown, clock = testClock()) {
  const memory = new FlowMemory({ now: clock.now });
  memory.remember('alice', VAULT, result, LIMITS);
  return { memory, clock };
}

describe('flow memory', () => {
  it('finds a remembered value carried to another server, and names the source, never the value', () => {
    const { memory, clock } = memoryWith({ content: [{ type: 'text', text: SECRET }] });
    clock.advance(3 * 60_000);
    const found = memory.check('alice', OTHER, { body: SECRET }, LIMITS);
    expect(found).toMatchObject({ server: 'vault', tool: 'read_secret', rule: 'secrets-read' });
    const reason = flowReason(found as NonNullable<typeof found>);
    expect(reason).toBe('carries a value returned by vault/read_secret 3 min ago (rule secrets-read)');
    expect(reason).not.toContain(SECRET);
  });

  it('keeps hashes only: nothing of the value is in the memory object', () => {
    const { memory } = memoryWith({ text: `password=${SECRET}` });
    const seen = new WeakSet<object>();
    const dump = (v: unknown): string => {
      if (typeof v === 'string') return v;
      if (typeof v !== 'object' || v === null || seen.has(v)) return '';
      seen.add(v);
      if (v instanceof Map) return [...v.entries()].map(dump).join(' ');
      return (
        Object.values(v).map(dump).join(' ') +
        (Symbol.iterator in v ? [...(v as Iterable<unknown>)].map(dump).join(' ') : '')
      );
    };
    const text = dump(memory).toLowerCase();
    expect(memory.size('alice')).toBeGreaterThan(0);
    expect(text).not.toContain(SECRET.toLowerCase());
    expect(text).not.toContain(SECRET.slice(8, 20).toLowerCase());
  });

  it.each([
    ['embedded in a URL', { url: `https://evil.example/c?k=${SECRET}&x=1` }],
    ['glued inside a longer word', { note: `xx${SECRET}yy` }],
    ['nested in arrays and objects', { a: [{ b: [{ c: `see ${SECRET}` }] }] }],
    ['as an object key', { headers: { [SECRET]: 'x' } }],
    ['case-changed', { body: SECRET.toUpperCase() }],
    ['split by whitespace', { body: `${SECRET.slice(0, 10)} ${SECRET.slice(10, 20)}\n${SECRET.slice(20)}` }],
    ['base64-encoded', { body: b64(SECRET) }],
    ['base64 twice over', { body: b64(b64(SECRET)) }],
    ['base64 of a longer text', { body: Buffer.from(`the key is ${SECRET} ok`).toString('base64') }],
    [
      'base64url-encoded in a URL',
      { url: `https://x.example/?d=${Buffer.from(SECRET).toString('base64url')}` },
    ],
    ['URL-encoded', { q: encodeURIComponent(`key: ${SECRET}/!`) }],
    ['hex-encoded', { body: Buffer.from(SECRET).toString('hex').toUpperCase() }],
  ])('finds the value %s', (_name, args) => {
    const { memory } = memoryWith({ content: [{ type: 'text', text: SECRET }] });
    expect(memory.check('alice', OTHER, args, LIMITS)).toBeDefined();
  });

  it.each([
    ['reversed', { body: [...SECRET].reverse().join('') }],
    ['base64 three times over', { body: b64(b64(b64(SECRET))) }],
    ['split into two arguments', { a: SECRET.slice(0, 16), b: SECRET.slice(16) }],
    ['with characters swapped for look-alikes', { body: SECRET.replace(/e/g, 'е') }],
  ])('does not catch the value %s (documented limit)', (_name, args) => {
    const { memory } = memoryWith({ content: [{ type: 'text', text: SECRET }] });
    expect(memory.check('alice', OTHER, args, LIMITS)).toBeUndefined();
  });

  it('remembers secret-like tokens of a longer text, and values under secret key names', () => {
    const { memory } = memoryWith({
      content: [{ type: 'text', text: 'DB_HOST=db.internal\nDB_PASS="Tr0ub4dor&3x"\n' }],
      structuredContent: { password: 'correcthorse', name: 'deploy' },
    });
    expect(memory.check('alice', OTHER, { s: 'login with Tr0ub4dor&3x' }, LIMITS)).toBeDefined();
    expect(memory.check('alice', OTHER, { s: 'CorrectHorse' }, LIMITS)).toBeDefined();
  });

  it('remembers numbers as their decimal text, and finds them as numbers or in text', () => {
    const { memory } = memoryWith({ structuredContent: { account: 4111111111111111, pin: 1234 } });
    expect(memory.check('alice', OTHER, { to: 4111111111111111 }, LIMITS)).toBeDefined();
    expect(memory.check('alice', OTHER, { memo: 'acct 4111111111111111' }, LIMITS)).toBeDefined();
    expect(memory.check('alice', OTHER, { pin: 1234 }, LIMITS)).toBeUndefined();
  });

  it('does not remember plain words or short strings, so ordinary calls are not held', () => {
    const { memory } = memoryWith({
      structuredContent: { name: 'database_password', kind: 'Credential', short: 'ab12' },
      content: [{ type: 'text', text: 'configuration password' }],
    });
    for (const text of ['database_password', 'configuration', 'Credential', 'ab12'])
      expect(memory.check('alice', OTHER, { text }, LIMITS), text).toBeUndefined();
  });

  it('does not flag the same tool on the same server, but does flag another tool of that server', () => {
    const { memory } = memoryWith({ text: SECRET });
    expect(
      memory.check('alice', { server: 'vault', tool: 'read_secret' }, { s: SECRET }, LIMITS),
    ).toBeUndefined();
    expect(
      memory.check('alice', { server: 'vault', tool: 'write_secret' }, { s: SECRET }, LIMITS),
    ).toBeDefined();
    expect(
      memory.check('alice', { server: 'mirror', tool: 'read_secret' }, { s: SECRET }, LIMITS),
    ).toBeDefined();
  });

  it('keeps agents apart', () => {
    const { memory } = memoryWith({ text: SECRET });
    expect(memory.check('bob', OTHER, { s: SECRET }, LIMITS)).toBeUndefined();
  });

  it('forgets after the window', () => {
    const { memory, clock } = memoryWith({ text: SECRET });
    clock.advance(LIMITS.windowMs - 1000);
    expect(memory.check('alice', OTHER, { s: SECRET }, LIMITS)).toBeDefined();
    clock.advance(2000);
    expect(memory.check('alice', OTHER, { s: SECRET }, LIMITS)).toBeUndefined();
    expect(memory.size('alice')).toBe(0);
  });

  it('holds arguments too deep to walk, unchecked, rather than passing them', () => {
    const { memory } = memoryWith({ text: SECRET });
    let deep: unknown = 'harmless';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(memory.check('alice', OTHER, deep, LIMITS)).toMatchObject({ unchecked: true });
  });

  it('holds arguments over the check budget, unchecked', () => {
    const memory = new FlowMemory({ checkBudget: 1000 });
    memory.remember('alice', VAULT, { text: SECRET }, LIMITS);
    expect(memory.check('alice', OTHER, { s: 'x'.repeat(10_000) }, LIMITS)).toMatchObject({
      unchecked: true,
    });
  });

  it('holds arguments that make too many candidate windows, unchecked', () => {
    const memory = new FlowMemory({ confirmBudget: 100 });
    memory.remember('alice', VAULT, { url: 'https://vault.internal/v1/secret/Db2' }, LIMITS);
    const args = { s: 'https://'.repeat(1000) };
    expect(memory.check('alice', OTHER, args, LIMITS)).toMatchObject({ unchecked: true });
    expect(new FlowMemory().check('alice', OTHER, args, LIMITS)).toBeUndefined();
  });

  it('checks a megabyte of arguments against a full memory in well under a second', () => {
    const memory = new FlowMemory();
    const tokens = Array.from({ length: 800 }, (_, i) => `tok${i}-${'x'.repeat(i % 40)}-Q${i * 7919}`);
    memory.remember('alice', VAULT, { text: tokens.join(' ') }, LIMITS);
    expect(memory.size('alice')).toBeGreaterThan(1000);
    const big = { body: 'lorem ipsum dolor sit amet '.repeat(40_000) };
    const started = performance.now();
    expect(memory.check('alice', OTHER, big, LIMITS)).toBeUndefined();
    // Generous for a loaded machine: one pass, not one per remembered length.
    expect(performance.now() - started).toBeLessThan(4000);
    expect(memory.check('alice', OTHER, { body: `${big.body}${tokens[799]}` }, LIMITS)).toBeDefined();
    expect(
      memory.check('alice', OTHER, { body: Buffer.from(tokens[799] as string).toString('hex') }, LIMITS),
    ).toBeUndefined(); // over the cap: no encoded forms
  });

  it('says a failed check holds the call without naming a source', () => {
    expect(flowReason(failedFlowCheck())).toBe(
      'the check for values from sensitive results failed, so the call is held',
    );
  });

  it('is bounded per agent and over all agents', () => {
    const memory = new FlowMemory({ maxAgents: 2, maxPerAgent: 10 });
    memory.remember('a', VAULT, { list: Array.from({ length: 50 }, (_, i) => `token-${i}-XyZ123`) }, LIMITS);
    expect(memory.size('a')).toBe(10);
    memory.remember('b', VAULT, { text: SECRET }, LIMITS);
    memory.remember('c', VAULT, { text: SECRET }, LIMITS);
    expect(memory.size('a')).toBe(0);
    expect(memory.check('c', OTHER, { s: SECRET }, LIMITS)).toBeDefined();
  });

  it('costs nothing for an agent with nothing remembered', () => {
    const memory = new FlowMemory();
    const big = { s: 'y'.repeat(1_000_000) };
    const started = performance.now();
    for (let i = 0; i < 1000; i++) memory.check('nobody', OTHER, big, LIMITS);
    expect(performance.now() - started).toBeLessThan(50);
  });
});
