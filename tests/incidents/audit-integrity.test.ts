// Audit-integrity failures open incidents: a write the log refused (the call is denied) and a chain break found when the log opens.
import { appendFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.js';
import { queryAudit } from '../../src/audit/index.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const POLICY = 'version: 2\nrules:\n  - { id: all, match: "*", decision: allow }\n';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('audit-integrity incidents', () => {
  it('a failed audit write opens one incident (repeats count on it), and the call is denied', async () => {
    const proxy = await startHttpProxy({
      policy: POLICY,
      command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    });
    closers.push(() => proxy.close());
    const client = await httpClient(proxy.url);
    closers.push(() => client.close());
    const auditDir = path.join(proxy.dataDir, 'audit');
    // Tests run as root, so permissions would not stop the write: take the directory away instead.
    await rename(auditDir, `${auditDir}.moved`);
    await writeFile(auditDir, 'not a directory');
    for (let i = 0; i < 3; i++) {
      const result = await client.callTool({ name: 'echo', arguments: { n: i } });
      expect(result.isError).toBe(true);
    }
    await waitFor(() => (proxy.app.incidents?.list({}) ?? []).length > 0, 'the audit incident');
    const incidents = proxy.app.incidents?.list({}) ?? [];
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      source: 'audit',
      type: 'audit_write_failed',
      severity: 'high',
      agent: null,
      status: 'open',
    });
    expect(incidents[0]?.count).toBeGreaterThanOrEqual(3);
    expect(incidents[0]?.description).toContain('could not be written');
    // Nothing of an agent's: the audit log failing suspends no one.
    expect(proxy.app.incidents?.suspended()).toEqual([]);

    // Once the log is back, the incident's own record is written with the next records.
    await rm(auditDir);
    await rename(`${auditDir}.moved`, auditDir);
    await waitFor(async () => {
      const again = await client.callTool({ name: 'echo', arguments: { now: 'runs' } });
      return again.isError !== true;
    }, 'the audit log to accept writes again');
  });

  it('a chain break found when the proxy starts opens an incident', async () => {
    const dir = tempDir().dir;
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const policyFile = path.join(dir, 'policy.yml');
    await writeFile(
      policyFile,
      `version: 2\nincidents: { audit: critical }\n${POLICY.slice('version: 2\n'.length)}`,
    );
    const dataDir = path.join(dir, 'data');
    await mkdir(dataDir);
    const open = async (): Promise<App> =>
      startApp({
        policyFile,
        http: { host: '127.0.0.1', port: 0 },
        ui: 'off',
        dataDir,
        agent: 'anonymous',
        command: { name: 'fixture', command: 'node', args: [FIXTURE] },
        log: () => {},
      });
    const first = await open();
    await first.audit.append({
      event: 'policy_reload',
      outcome: 'accepted',
      old_sha256: 'a',
      policy_sha256: 'b',
    });
    expect(first.incidents?.list({})).toEqual([]);
    await first.close();
    const auditDir = path.join(dataDir, 'audit');
    const file = (await readdir(auditDir))
      .filter((f) => f.endsWith('.jsonl') && f.startsWith('audit-'))
      .sort()
      .at(-1);
    await appendFile(path.join(auditDir, file as string), '{"event":"decision","agent":"x","args":{"amo');

    const second = await open();
    closers.push(() => second.close());
    const incidents = second.incidents?.list({}) ?? [];
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ source: 'audit', type: 'audit_chain_break', severity: 'critical' });
    await waitFor(async () => {
      const { records } = await queryAudit(second.audit.root, { event: 'incident' });
      return records.some((r) => r.incident === incidents[0]?.id && r.action === 'opened');
    }, 'the incident record');
  });
});
