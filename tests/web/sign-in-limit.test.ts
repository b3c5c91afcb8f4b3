// Sign-in cannot be brute-forced: real HTTP from real loopback addresses to a real server, on an injected clock.

import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import { serveWeb, WebAuth, type WebServer } from '../../src/web/index.js';
import { addressKey, SignInLimiter } from '../../src/web/rate-limit.js';
import { builtFile } from '../helpers/built.js';
import { FIXTURE, REPO } from '../helpers/peers.js';
import { tempDir } from '../helpers/temp.js';

const TOKEN = 'sign-in-limit-token-0123456789abcdef';
let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let auth: WebAuth;
let server: WebServer;
let now: number;

beforeEach(async () => {
  tmp = tempDir('portcullis-signin-');
  now = Date.UTC(2026, 11, 1, 10, 0, 0);
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  queue = new ApprovalQueue({ store });
  auth = new WebAuth({ token: TOKEN, db: store.db, signInLimit: { now: () => now } });
  server = await serveWeb({ queue, auth, port: 0 });
});
afterEach(async () => {
  await server.close();
  queue.close();
  store.close();
  tmp.cleanup();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request from a chosen loopback source address (all of 127/8 is this machine). */
function send(
  path: string,
  options: { from?: string; method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        localAddress: options.from ?? '127.0.0.1',
        headers: { host: `127.0.0.1:${server.port}`, ...options.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function login(fields: Record<string, string>, from = '127.0.0.1', headers: Record<string, string> = {}) {
  return send('/login', {
    from,
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

function code(): string {
  return new URL(server.loginUrl()).searchParams.get('code') ?? '';
}

describe('sign-in rate limit per client address', () => {
  it('pauses the token form after 5 failures a minute with 429 and Retry-After, even for the right token', async () => {
    for (let i = 1; i <= 5; i++) {
      const res = await login({ token: `wrong-token-${i}` });
      expect(res.status).toBe(401);
      if (i < 4) expect(res.text).toContain(`${5 - i} attempts left before sign-in from this address pauses`);
      if (i === 4)
        expect(res.text).toContain('One more failed attempt pauses sign-in from this address for 60 seconds');
      if (i === 5) {
        expect(res.text).toContain(
          'Sign-in from this address is paused after 5 failed attempts within 60 seconds',
        );
        expect(res.headers['retry-after']).toBe('56'); // the first failure, 4 s ago, ages out in 56 s
      }
      now += 1000;
    }
    const paused = await login({ token: TOKEN });
    expect(paused.status).toBe(429);
    expect(paused.headers['retry-after']).toBe('55');
    expect(paused.headers['set-cookie']).toBeUndefined();
    expect(paused.text).toContain('Too many failed sign-in attempts.');
    expect(paused.text).toContain('try again in 55 seconds');
    expect(paused.text).toContain('role="alert"');

    now += 30_000;
    expect((await login({ token: TOKEN })).headers['retry-after']).toBe('25');
    now += 26_000; // the first failure has aged out: one attempt again
    const back = await login({ token: TOKEN });
    expect(back.status).toBe(303);
    expect(back.headers['set-cookie']?.[0]).toMatch(/^portcullis_session=/);
  });

  it('does not spend a one-time code while paused: the unused link works after the pause', async () => {
    for (let i = 0; i < 5; i++) expect((await login({ code: `guess-${i}` })).status).toBe(401);
    const link = code();
    const paused = await login({ code: link });
    expect(paused.status).toBe(429);
    expect(paused.text).toContain('An unused sign-in link still works after the pause.');
    now += 60_001;
    expect((await login({ code: link })).status).toBe(303);
  });

  it('counts each address on its own: a success elsewhere resets nothing, forged forwarding headers change nothing', async () => {
    for (let i = 0; i < 5; i++) {
      await login({ token: `wrong-${i}` }, '127.0.0.1', { 'x-forwarded-for': `203.0.113.${i}` });
    }
    expect((await login({ token: TOKEN }, '127.0.0.1', { 'x-forwarded-for': '198.51.100.7' })).status).toBe(
      429,
    );
    expect((await login({ token: TOKEN }, '127.0.0.1', { 'x-real-ip': '198.51.100.8' })).status).toBe(429);

    // Another address signs in, fails, signs in again: 127.0.0.1 stays paused.
    expect((await login({ token: TOKEN }, '127.0.0.2')).status).toBe(303);
    expect((await login({ token: 'nope-nope' }, '127.0.0.2')).status).toBe(401);
    expect((await login({ code: code() }, '127.0.0.2')).status).toBe(303);
    expect((await login({ token: TOKEN }, '127.0.0.1')).status).toBe(429);
    now += 60_001;
    expect((await login({ token: TOKEN }, '127.0.0.1')).status).toBe(303);
  });

  it('counts wrong Bearer tokens on the API the same way, without locking out a browser already signed in', async () => {
    const signedIn = await login({ code: code() });
    const cookie = String(signedIn.headers['set-cookie']?.[0]).split(';')[0] as string;
    for (let i = 0; i < 5; i++) {
      const res = await send('/api/approvals', {
        headers: { authorization: `Bearer guess-${i}-0123456789abcdef0123456789` },
      });
      expect(res.status).toBe(401);
    }
    const paused = await send('/api/approvals', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(paused.status).toBe(429);
    expect(paused.headers['retry-after']).toBe('60');
    expect(JSON.parse(paused.text)).toMatchObject({ code: 'E_SIGN_IN_RATE_LIMITED', retry_after: 60 });
    // The form shares the count: this address may not guess there either.
    expect((await login({ token: TOKEN })).status).toBe(429);
    // A session made before is not a guess: it keeps working.
    expect((await send('/', { headers: { cookie } })).status).toBe(200);
    expect((await send('/api/approvals', { headers: { cookie } })).status).toBe(200);
    // Another address's right token is not held back.
    expect(
      (await send('/api/approvals', { from: '127.0.0.3', headers: { authorization: `Bearer ${TOKEN}` } }))
        .status,
    ).toBe(200);
  });
});

describe('the limiter itself', () => {
  it('stays bounded however many addresses fail, forgetting the least recently failing first', () => {
    const limiter = new SignInLimiter({ maxAddresses: 100, now: () => 0 });
    for (let i = 0; i < 10_000; i++) limiter.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(limiter.size).toBe(100);
    for (let i = 0; i < 5; i++) limiter.fail('192.0.2.1');
    expect(limiter.check('192.0.2.1').allowed).toBe(false);
    expect(limiter.size).toBe(100);
  });

  it('counts IPv4-mapped addresses as IPv4 and IPv6 addresses by their /64', () => {
    expect(addressKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('2001:db8::1')).toBe(addressKey('2001:DB8:0:0:ffff:1:2:3'));
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:db8:0:1::1')).not.toBe(addressKey('2001:db8::1'));
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});

describe('the admin token', () => {
  it('must be at least 32 characters in PORTCULLIS_UI_TOKEN and in the ui-token file', async () => {
    const { loadOrCreateToken, WebConfigError } = await import('../../src/web/index.js');
    const short = 'x'.repeat(31);
    expect(() => loadOrCreateToken(tmp.dir, { PORTCULLIS_UI_TOKEN: short })).toThrow(WebConfigError);
    expect(() => loadOrCreateToken(tmp.dir, { PORTCULLIS_UI_TOKEN: short })).toThrow(
      /PORTCULLIS_UI_TOKEN must be at least 32 characters \(it has 31\)/,
    );
    expect(loadOrCreateToken(tmp.dir, { PORTCULLIS_UI_TOKEN: 'y'.repeat(32) })).toBe('y'.repeat(32));
    expect(() => new WebAuth({ token: short, db: store.db })).toThrow(WebConfigError);
    // A hand-written ui-token file is held to the same length.
    const dir = join(tmp.dir, 'data');
    mkdirSync(dir);
    writeFileSync(join(dir, 'ui-token'), `${short}\n`, { mode: 0o600 });
    expect(() => loadOrCreateToken(dir, {})).toThrow(
      /holds no usable token \(at least 32 characters\): delete it/,
    );
  });
});

describe('portcullis run with a short PORTCULLIS_UI_TOKEN', () => {
  it('refuses to start with one clear line on stderr and exit 1', async () => {
    const policy = join(tmp.dir, 'policy.yml');
    writeFileSync(policy, 'version: 2\nrules: []\n');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        [
          builtFile('src/cli.ts'),
          'run',
          '--policy',
          policy,
          '--ui',
          '0',
          '--data-dir',
          join(tmp.dir, 'd'),
          '--',
          'node',
          FIXTURE,
        ],
        {
          cwd: REPO,
          env: { ...process.env, PORTCULLIS_UI_TOKEN: 'sixteen-chars-ok', DEBUG: '' },
          timeout: 30_000,
        },
        (error, _stdout, stderr) => {
          if (error && typeof error.code !== 'number') reject(error);
          else resolve({ code: error ? (error.code as number) : 0, stderr });
        },
      );
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^portcullis: PORTCULLIS_UI_TOKEN must be at least 32 characters \(it has 16\); use a random one/,
      ),
    ]);
  }, 30_000);
});
