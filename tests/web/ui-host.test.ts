// The UI bound to every interface (the container image): reachable through loopback names, still closed to other Host names.
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import { serveWeb, WebAuth, type WebServer } from '../../src/web/index.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let auth: WebAuth;
const servers: WebServer[] = [];

beforeEach(() => {
  tmp = tempDir('portcullis-ui-host-');
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  queue = new ApprovalQueue({ store, pollIntervalMs: 50 });
  auth = new WebAuth({ token: 'ui-host-test-token-0123456789abcdef', db: store.db });
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  queue.close();
  store.close();
  tmp.cleanup();
});

/** GET over loopback with a chosen Host header (fetch does not let a caller set Host). */
function statusWithHost(port: number, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serveWeb on 0.0.0.0', () => {
  it('answers loopback Host names at its port and sends browsers to 127.0.0.1', async () => {
    const server = await serveWeb({ queue, auth, host: '0.0.0.0', port: 0 });
    servers.push(server);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.loginUrl().startsWith(`http://127.0.0.1:${server.port}/login?code=`)).toBe(true);
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`]) {
      expect(await statusWithHost(server.port, '/health/ready', host)).toBe(200);
    }
  });

  it('refuses any other Host: a rebound name, the wildcard itself, a LAN address, another port', async () => {
    const server = await serveWeb({ queue, auth, host: '0.0.0.0', port: 0 });
    servers.push(server);
    for (const host of [
      `evil.example:${server.port}`,
      `0.0.0.0:${server.port}`,
      `192.168.1.20:${server.port}`,
      `127.0.0.1:${server.port + 1}`,
      'localhost',
    ]) {
      expect(await statusWithHost(server.port, '/health/ready', host), host).toBe(403);
      expect(await statusWithHost(server.port, '/', host), host).toBe(403);
    }
  });

  it('lets the operator add a name (a LAN address the port is published on)', async () => {
    const server = await serveWeb({
      queue,
      auth,
      host: '0.0.0.0',
      port: 0,
      extraAllowedHosts: ['PORTCULLIS.LAN:8787'],
    });
    servers.push(server);
    expect(await statusWithHost(server.port, '/health/live', 'portcullis.lan:8787')).toBe(200);
  });
});

describe('startApp with uiHost 0.0.0.0 (the container image)', () => {
  it('serves the UI there, warns that it is reachable, and prints a sign-in link on 127.0.0.1', async () => {
    const policyFile = join(tmp.dir, 'policy.yml');
    writeFileSync(policyFile, 'version: 2\ndefault: deny\nrules: []\n');
    const logs: string[] = [];
    const app = await startApp({
      policyFile,
      http: { host: '127.0.0.1', port: 0 },
      ui: 0,
      uiHost: '0.0.0.0',
      dataDir: join(tmp.dir, 'data'),
      agent: 'anonymous',
      command: { name: 'idle', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] },
      log: (line) => logs.push(line),
    });
    try {
      const port = app.web?.port ?? 0;
      expect(app.web?.host).toBe('0.0.0.0');
      expect(logs.join('\n')).toContain('approvals UI bound to 0.0.0.0: whoever reaches it');
      expect(logs.join('\n')).toContain(`sign in at http://127.0.0.1:${port}/login?code=`);
      expect(await statusWithHost(port, '/health/ready', `localhost:${port}`)).toBe(200);
      expect(await statusWithHost(port, '/health/ready', `attacker.example:${port}`)).toBe(403);
    } finally {
      await app.close();
    }
  });

  it('keeps the UI on 127.0.0.1 by default, without the warning', async () => {
    const policyFile = join(tmp.dir, 'policy.yml');
    writeFileSync(policyFile, 'version: 2\ndefault: deny\nrules: []\n');
    const logs: string[] = [];
    const app = await startApp({
      policyFile,
      http: { host: '127.0.0.1', port: 0 },
      ui: 0,
      dataDir: join(tmp.dir, 'data'),
      agent: 'anonymous',
      command: { name: 'idle', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] },
      log: (line) => logs.push(line),
    });
    try {
      expect(app.web?.host).toBe('127.0.0.1');
      expect(logs.join('\n')).not.toContain('approvals UI bound to');
    } finally {
      await app.close();
    }
  });
});
