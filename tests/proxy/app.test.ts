// The composition root: a start that fails part-way leaves nothing of itself open.

import { readdirSync, readlinkSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { StartRefusedError } from '../../src/proxy/index.js';
import { FIXTURE } from '../helpers/peers.js';
import { tempDir } from '../helpers/temp.js';

/** Files under `dir` this process still holds open (Linux: /proc/self/fd). */
function openFilesUnder(dir: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(path.join('/proc/self/fd', fd));
      if (target.startsWith(dir)) open.push(target);
    } catch {
      // The fd of the directory listing itself is gone by now.
    }
  }
  return open;
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function setup(policy: string): Promise<{ policyFile: string; dataDir: string }> {
  const dir = tempDir().dir;
  dirs.push(dir);
  const policyFile = path.join(dir, 'policy.yml');
  await writeFile(policyFile, policy);
  return { policyFile, dataDir: path.join(dir, 'data') };
}

describe('a start that fails', () => {
  it('without any upstream closes the audit log it opened', async () => {
    const { policyFile, dataDir } = await setup('version: 2\nrules: []\n');
    const start = startApp({ policyFile, ui: 'off', dataDir, agent: 'a', log: () => {} });
    await expect(start).rejects.toBeInstanceOf(StartRefusedError);
    expect(openFilesUnder(dataDir)).toEqual([]);
  });

  it('on a busy HTTP port closes the approvals database, the UI and the audit log', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    const { policyFile, dataDir } = await setup('version: 2\nrules: []\n');
    const logs: string[] = [];
    try {
      const start = startApp({
        policyFile,
        http: { host: '127.0.0.1', port },
        ui: 0,
        dataDir,
        agent: 'a',
        command: { name: 'fixture', command: 'node', args: [FIXTURE] },
        log: (line) => logs.push(line),
      });
      await expect(start).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(openFilesUnder(dataDir)).toEqual([]);
      const ui = /sign in at (http:\/\/[^/]+)\//.exec(logs.join('\n'))?.[1];
      expect(ui).toBeDefined();
      await expect(fetch(`${ui}/health/live`)).rejects.toThrow();
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
