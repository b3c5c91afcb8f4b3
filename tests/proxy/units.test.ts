// Pure pieces of the proxy: upstream names, ${ENV} expansion, name routing, agent identity.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AuditEvent, AuditLog, AuditWriteError } from '../../src/audit/index.js';
import {
  Catalog,
  deriveServerName,
  Gate,
  identify,
  loadTestedPolicy,
  resolveUpstreams,
  UpstreamConfigError,
} from '../../src/proxy/index.js';
import { tempDir } from '../helpers/temp.js';

describe('deriveServerName', () => {
  it('names an upstream after its script or package, not its interpreter', () => {
    expect(deriveServerName('node', ['dist/payments-server.js'])).toBe('payments-server');
    expect(deriveServerName('npx', ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'])).toBe(
      'server-filesystem',
    );
    expect(deriveServerName('uvx', ['mcp-server-git@1.2.0'])).toBe('mcp-server-git');
    expect(deriveServerName('/usr/local/bin/my server', [])).toBe('my-server');
  });
});

describe('resolveUpstreams', () => {
  const servers = {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what is expanded
    api: { url: 'http://127.0.0.1:9/mcp', headers: { Authorization: 'Bearer ${TOKEN}' } },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what is expanded
    tool: { command: './bin/tool', args: ['x'], env: { KEY: '${KEY}-suffix' } },
  };

  it('expands environment variables in headers and env and resolves relative commands against the policy folder', () => {
    const { specs, errors } = resolveUpstreams(servers, '/etc/portcullis', undefined, {
      TOKEN: 't0k',
      KEY: 'k',
      PATH: '/bin',
    });
    expect(errors).toEqual([]);
    expect(specs[0]).toMatchObject({ kind: 'http', headers: { Authorization: 'Bearer t0k' } });
    expect(specs[1]).toMatchObject({
      kind: 'stdio',
      command: '/etc/portcullis/bin/tool',
      cwd: '/etc/portcullis',
    });
    expect(specs[1]?.kind === 'stdio' && specs[1].env.KEY).toBe('k-suffix');
  });

  it('refuses only the upstream whose variable is missing, never substituting an empty string', () => {
    const { specs, errors } = resolveUpstreams(servers, '/p', undefined, { KEY: 'k' });
    expect(specs.map((s) => s.name)).toEqual(['tool']);
    expect(errors[0]).toBeInstanceOf(UpstreamConfigError);
    expect(errors[0]?.code).toBe('E_UPSTREAM_CONFIG');
  });

  it('refuses a -- COMMAND upstream whose name collides with servers:', () => {
    const { specs, errors } = resolveUpstreams(
      servers,
      '/p',
      { name: 'api', command: 'node', args: [] },
      { TOKEN: 't', KEY: 'k' },
    );
    expect(errors).toHaveLength(1);
    expect(specs.map((s) => s.name)).toEqual(['api', 'tool']);
  });
});

describe('Catalog', () => {
  const naming = { separator: '__', prefix: 'auto' as const };

  it('routes by the longest server prefix and only to names that upstream listed', () => {
    const catalog = new Catalog(['a', 'a__b'], naming);
    catalog.remember('tools', 'a', ['x', 'b__y']);
    catalog.remember('tools', 'a__b', ['y']);
    expect(catalog.resolve('tools', 'a__b__y')).toEqual({ server: 'a__b', name: 'y' });
    expect(catalog.resolve('tools', 'a__x')).toEqual({ server: 'a', name: 'x' });
    expect(catalog.resolve('tools', 'a__z')).toBeUndefined();
    catalog.markStale('tools', 'a');
    // A stale list still counts until it is listed again.
    expect(catalog.resolve('tools', 'a__x')).toEqual({ server: 'a', name: 'x' });
    catalog.forgetServer('a');
    expect(catalog.resolve('tools', 'a__x')).toBeUndefined();
  });

  it('passes names through with one upstream, and never picks between two upstreams without prefixes', () => {
    expect(new Catalog(['only'], naming).single).toBe('only');
    const never = new Catalog(['a', 'b'], { separator: '__', prefix: 'never' });
    never.remember('tools', 'a', ['x']);
    never.remember('tools', 'b', ['x', 'y']);
    expect(never.resolve('tools', 'x')).toBeUndefined();
    expect(never.view('tools', 'x').ambiguous).toEqual(['a', 'b']);
    expect(never.isAmbiguous('tools', 'x')).toBe(true);
    expect(never.resolve('tools', 'y')).toEqual({ server: 'b', name: 'y' });
    // Sticky: b dropping x (a new complete listing) does not hand x to a.
    never.replace('tools', 'b', ['y'], never.generation('tools', 'b'));
    expect(never.resolve('tools', 'x')).toBeUndefined();
    expect(never.isAmbiguous('tools', 'x')).toBe(true);
  });
});

describe('identify', () => {
  const hash = createHash('sha256').update('k1').digest('hex');
  const keyed = loadTestedPolicy(
    `version: 2\nagents:\n  - { id: bot, key_sha256: "${hash}", trust: low }\nrules: []\n`,
    'p.yml',
    () => {},
  );
  const open = loadTestedPolicy('version: 2\nrules: []\n', 'p.yml', () => {});

  it('fails closed: a keyed policy needs a known key; a presented unknown key is refused even without agents', () => {
    expect(identify('Bearer k1', keyed, 'anon')).toEqual({ ok: true, agent: 'bot', keyHash: hash });
    expect(identify(undefined, keyed, 'anon').ok).toBe(false);
    expect(identify('Bearer nope', keyed, 'anon').ok).toBe(false);
    expect(identify('Bearer nope', open, 'anon').ok).toBe(false);
    expect(identify(undefined, open, 'anon')).toEqual({ ok: true, agent: 'anon', keyHash: null });
  });
});

describe('Gate', () => {
  it('forwards the very object it evaluated, unchanged, on the allow path', async () => {
    const policy = loadTestedPolicy(
      'version: 2\nrules:\n  - { id: small, match: pay, cap: { arg: amount, max: 10 }, decision: allow }\n',
      'p.yml',
      () => {},
    );
    const audit = await AuditLog.open({ dataDir: tempDir().dir });
    const gate = new Gate({
      policy: () => policy,
      audit,
      review: { review: async () => ({ kind: 'deny', cause: 'denied', reason: 'no' }) },
      log: () => {},
    });
    const args = { amount: 5, nested: { token: 'secret' } };
    const snapshot = structuredClone(args);
    const forwarded: unknown[] = [];
    try {
      const result = await gate.call({
        agent: 'a',
        server: 's',
        tool: 'pay',
        args,
        signal: new AbortController().signal,
        forward: async (sent) => {
          forwarded.push(sent);
          return { content: [] };
        },
      });
      expect(result).toEqual({ content: [] });
      expect(forwarded).toHaveLength(1);
      expect(forwarded[0]).toBe(args);
      expect(args).toEqual(snapshot);
    } finally {
      await audit.close();
    }
  });

  it('does not forward an approved call when its release cannot be written to the audit log', async () => {
    const policy = loadTestedPolicy(
      'version: 2\nrules:\n  - { id: ask, match: pay, decision: review }\n',
      'p.yml',
      () => {},
    );
    // A stand-in sink, because a real log cannot be made to fail on exactly one record: it takes the
    // decision and refuses the approval release that must precede forwarding.
    const written: string[] = [];
    const audit = {
      append: async (event: AuditEvent) => {
        if (event.event === 'approval') throw new AuditWriteError('disk full');
        written.push(event.event);
        return { ...event, seq: written.length, ts: '', prev: '', hash: '' };
      },
    };
    const reports: { ok: boolean; error?: string | null }[] = [];
    const gate = new Gate({
      policy: () => policy,
      audit,
      review: {
        review: async () => ({
          kind: 'run',
          args: { amount: 5 },
          approvalId: 'ap_1',
          executed: (report) => reports.push(report),
        }),
      },
      log: () => {},
    });
    let forwarded = 0;
    const result = await gate.call({
      agent: 'a',
      server: 's',
      tool: 'pay',
      args: { amount: 5 },
      signal: new AbortController().signal,
      forward: async () => {
        forwarded++;
        return { content: [] };
      },
    });
    expect(forwarded).toBe(0);
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result)).toContain('audit log cannot be written');
    expect(written).toEqual(['decision']);
    expect(reports).toEqual([
      { ok: false, error: 'the audit log cannot be written, so the approved call was not forwarded' },
    ]);
  });
});
