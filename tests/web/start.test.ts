// Two proxies sharing one data dir: one serves the UI, both see decisions; nothing leaks the token.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Approvals, startApprovals } from '../../src/web/index.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
const started: Approvals[] = [];
beforeEach(() => {
  tmp = tempDir('portcullis-start-');
});
afterEach(async () => {
  for (const a of started.splice(0)) await a.close();
  tmp.cleanup();
});

describe('startApprovals', () => {
  it('lets the first process serve the UI and wakes a call held by the second when the first decides', async () => {
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);
    const first = await startApprovals({ dataDir: tmp.dir, ui: 0, env: {}, log });
    started.push(first);
    expect(first.web).toBeDefined();
    const second = await startApprovals({ dataDir: tmp.dir, ui: first.web?.port as number, env: {}, log });
    started.push(second);
    expect(second.web).toBeUndefined();
    expect(second.uiUrl).toBe(first.uiUrl);

    const held = second.review.review({
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
        const list = (await (await fetch(`${first.uiUrl}/api/approvals`, { headers })).json()) as {
          id: string;
        }[];
        id = list[0]?.id;
        return list.length;
      })
      .toBe(1);
    const res = await fetch(`${first.uiUrl}/api/approvals/${id}/approve`, { method: 'POST', headers });
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

  it('runs without a UI when it is off: pending results then name no address', async () => {
    const approvals = await startApprovals({ dataDir: tmp.dir, ui: 'off', env: {}, log: () => {} });
    started.push(approvals);
    expect(approvals.web).toBeUndefined();
    const verdict = await approvals.review.review({
      tool: 't',
      args: {},
      rule: null,
      reason: 'r',
      canWait: false,
    });
    expect(verdict.kind).toBe('respond');
    if (verdict.kind === 'respond')
      expect(verdict.text).toMatch(/^Approval ap_[0-9a-f]{16} is waiting for a person\./);
  });
});
