// Two proxies sharing one data dir: one serves the UI, both see decisions; nothing leaks the token.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Approvals, openApprovals, startWeb, type Web } from '../../src/app.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
const started: (Approvals | Web)[] = [];
beforeEach(() => {
  tmp = tempDir('portcullis-start-');
});
afterEach(async () => {
  for (const part of started.splice(0).reverse()) await part.close();
  tmp.cleanup();
});

/** The approvals and web parts of one proxy process, as the composition root builds them. */
async function proxyParts(
  ui: number | 'off',
  log: (line: string) => void,
  dataDir = tmp.dir,
): Promise<{ approvals: Approvals; web: Web }> {
  const approvals = openApprovals({ dataDir, log });
  started.push(approvals);
  const web = await startWeb({ dataDir, ui, env: {}, approvals, log });
  started.push(web);
  approvals.uiUrl = web.uiUrl;
  return { approvals, web };
}

describe('the approvals and web parts', () => {
  it('lets the first process serve the UI and wakes a call held by the second when the first decides', async () => {
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);
    const first = await proxyParts(0, log);
    expect(first.web.server).toBeDefined();
    const second = await proxyParts(first.web.server?.port as number, log);
    expect(second.web.server).toBeUndefined();
    expect(second.web.uiUrl).toBe(first.web.uiUrl);

    const held = second.approvals.queue.review({
      agent: 'claude-desktop',
      server: 'files',
      tool: 'write_file',
      args: { path: '/tmp/x', content: 'hi' },
      rule: 'writes',
      reason: 'Writes need a person',
      canWait: true,
    });
    const token = readFileSync(join(tmp.dir, 'ui-token'), 'utf8').trim();
    const headers = { authorization: `Bearer ${token}` };
    let id: string | undefined;
    await expect
      .poll(async () => {
        const list = (await (await fetch(`${first.web.uiUrl}/api/approvals`, { headers })).json()) as {
          id: string;
        }[];
        id = list[0]?.id;
        return list.length;
      })
      .toBe(1);
    const res = await fetch(`${first.web.uiUrl}/api/approvals/${id}/approve`, { method: 'POST', headers });
    expect(res.status).toBe(200);
    expect(await held).toMatchObject({
      kind: 'run',
      args: { path: '/tmp/x', content: 'hi' },
      approvalId: id,
    });

    // Both processes printed a working one-time link; neither printed the token.
    const links = logs.filter((l) => l.includes('/login?code='));
    expect(links).toHaveLength(2);
    for (const line of logs) expect(line).not.toContain(token);
  });

  it('does not send agents to a UI on another data dir, or to another program on the port: it serves its own', async () => {
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);
    const first = await proxyParts(0, log);
    const port = first.web.server?.port as number;
    const otherDir = join(tmp.dir, 'other');
    const second = await proxyParts(port, log, otherDir);
    expect(second.web.server).toBeDefined();
    expect(second.web.uiUrl).not.toBe(first.web.uiUrl);
    expect(logs).toContainEqual(
      `approvals UI: port ${port} is taken by something that does not serve ${otherDir} (another program, or a Portcullis on another data dir); serving this data dir's UI at ${second.web.uiUrl} instead`,
    );
    // The second UI sees the second data dir's approvals: what its pending calls point to works.
    const token = readFileSync(join(otherDir, 'ui-token'), 'utf8').trim();
    const res = await fetch(`${second.web.uiUrl}/api/approvals`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);

    // Something that is not Portcullis, answering anything with 200 and a made-up proof.
    const impostor = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ proof: 'ab'.repeat(32) }));
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      const taken = (impostor.address() as AddressInfo).port;
      const third = await proxyParts(taken, log);
      expect(third.web.server).toBeDefined();
      expect(third.web.uiUrl).not.toBe(`http://127.0.0.1:${taken}`);
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it('runs without a UI when it is off: pending results then name the command that decides', async () => {
    const { approvals, web } = await proxyParts('off', () => {});
    expect(web.server).toBeUndefined();
    const verdict = await approvals.queue.review({
      tool: 't',
      args: {},
      rule: null,
      reason: 'r',
      canWait: false,
    });
    expect(verdict.kind).toBe('respond');
    if (verdict.kind === 'respond')
      expect(verdict.text).toMatch(
        /^Approval (ap_[0-9a-f]{16}) is waiting for a person \(no approvals UI is served: decide with "portcullis approvals approve \1 --data-dir [^"]+" or "portcullis approvals deny \1 --data-dir [^"]+"\)\./,
      );
  });
});
