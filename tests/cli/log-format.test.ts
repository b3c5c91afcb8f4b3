// `portcullis run --log-format json`: one JSON object per stderr line, correlation ids that meet the audit records, no sign-in link.

import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { runProxy } from '../../src/commands/run.js';
import { levelOf, lineLog } from '../../src/util/index.js';
import { callsOf } from '../helpers/fixture-log.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

interface Line {
  ts: string;
  level: string;
  msg: string;
  correlation_id?: string;
}

const POLICY = 'version: 2\ndefault: deny\nrules:\n  - { id: all, match: "*", decision: allow }\n';

interface Running {
  app: App;
  client: Client;
  stderr: string[];
  dataDir: string;
  fixtureLog: string;
  stop(): Promise<void>;
}

const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

/** The real `run` command in this process over HTTP, with the UI on (its start-up line is one of the logs). */
async function run(logFormat: 'json' | 'text'): Promise<Running> {
  const dir = tempDir().dir;
  const policy = path.join(dir, 'policy.yml');
  await writeFile(policy, POLICY);
  const dataDir = path.join(dir, 'data');
  const fixtureLog = path.join(dir, 'fixture.jsonl');
  const stderr: string[] = [];
  const controller = new AbortController();
  let ready: (app: App) => void = () => {};
  const started = new Promise<App>((resolve) => {
    ready = resolve;
  });
  const exited = runProxy(
    { policy, http: 0, ui: 0, dataDir, command: ['node', FIXTURE], logFormat },
    { out: () => {}, err: (text) => stderr.push(text) },
    { signal: controller.signal, env: { ...process.env, FIXTURE_LOG: fixtureLog }, onReady: ready },
  );
  const app = await Promise.race([
    started,
    exited.then((code) => {
      throw new Error(`run exited with ${code}: ${stderr.join('\n')}`);
    }),
  ]);
  const client = await httpClient(app.url as string);
  const entry: Running = {
    app,
    client,
    stderr,
    dataDir,
    fixtureLog,
    async stop() {
      await client.close().catch(() => {});
      controller.abort();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
  running.push(entry);
  return entry;
}

const parsed = (stderr: readonly string[]): Line[] => stderr.map((line) => JSON.parse(line) as Line);

async function auditRecords(dataDir: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path.join(dataDir, 'audit', 'audit-000001.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Takes the audit directory away (tests run as root: permissions would not stop a write); returns the undo. */
async function breakAudit(dataDir: string): Promise<() => Promise<void>> {
  const auditDir = path.join(dataDir, 'audit');
  await rename(auditDir, `${auditDir}.moved`);
  await writeFile(auditDir, 'not a directory');
  return async () => {
    await rm(auditDir);
    await rename(`${auditDir}.moved`, auditDir);
  };
}

describe('--log-format json', () => {
  it('writes every stderr line as one JSON object with ts, level and msg, and no sign-in link', async () => {
    const r = await run('json');
    await r.client.callTool({ name: 'echo', arguments: {} });
    const lines = parsed(r.stderr);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(Number.isNaN(Date.parse(line.ts))).toBe(false);
      expect(['info', 'warn', 'error']).toContain(line.level);
      expect(typeof line.msg).toBe('string');
    }
    expect(lines.some((l) => l.msg.startsWith('MCP endpoint http://127.0.0.1:'))).toBe(true);
    // A link that signs in would stay in whatever collects the logs: none is issued or written.
    const ui = lines.find((l) => l.msg.startsWith('approvals UI:'));
    expect(ui?.msg).toContain(path.join(r.dataDir, 'ui-token'));
    expect(r.stderr.join('\n')).not.toMatch(/code=|\/login/);
    const token = (await readFile(path.join(r.dataDir, 'ui-token'), 'utf8')).trim();
    expect(r.stderr.join('\n')).not.toContain(token);
  });

  it('carries the correlation id of the call a line is about: the same as its result and audit records', async () => {
    const r = await run('json');
    // A call held upstream: its decision record is written; its execution record will fail.
    const controller = new AbortController();
    const hanging = r.client
      .callTool({ name: 'hang', arguments: {} }, undefined, { signal: controller.signal })
      .catch(() => undefined);
    await waitFor(async () => (await callsOf(r.fixtureLog, 'hang')) === 1, 'the hang call upstream');
    const decision = (await auditRecords(r.dataDir)).find((e) => e.event === 'decision' && e.tool === 'hang');
    expect(decision?.correlation_id).toEqual(expect.any(String));

    const restore = await breakAudit(r.dataDir);
    try {
      controller.abort();
      await hanging;
      await waitFor(
        () => parsed(r.stderr).some((l) => l.correlation_id === decision?.correlation_id),
        'the failed execution record logged with its call',
      );
      // And a call whose decision cannot be recorded: the client's denial names the id the line carries.
      const denied = await r.client.callTool({ name: 'echo', arguments: {} });
      const meta = (denied._meta as Record<string, { correlation_id: string }>)['portcullis/decision'];
      const lines = parsed(r.stderr);
      const failed = lines.find((l) => l.correlation_id === meta?.correlation_id);
      expect(failed).toMatchObject({ level: 'error' });
      expect(failed?.msg).toMatch(/^AUDIT LOG WRITE FAILED/);
      const held = lines.find((l) => l.correlation_id === decision?.correlation_id);
      expect(held).toMatchObject({ level: 'error' });
      // Lines about no one call carry none.
      expect(lines.find((l) => l.msg.startsWith('MCP endpoint'))?.correlation_id).toBeUndefined();
    } finally {
      await restore();
    }
  });

  it('leaves text logs as they were, with the one-time sign-in link', async () => {
    const r = await run('text');
    expect(r.stderr.every((line) => line.startsWith('portcullis: '))).toBe(true);
    expect(r.stderr.some((line) => /approvals UI: sign in at http:\/\/.+\/login\?code=/.test(line))).toBe(
      true,
    );
  });
});

describe('log lines', () => {
  it('take their level from the caller, or from what the message says', () => {
    expect(levelOf('policy policy.yml (sha256 abc)')).toBe('info');
    expect(levelOf('upstream fixture is down: it exited')).toBe('warn');
    expect(levelOf('AUDIT LOG WRITE FAILED, calls are denied until it recovers: EEXIST')).toBe('error');
    const out: string[] = [];
    const log = lineLog(
      'json',
      (line) => out.push(line),
      () => new Date(0),
    );
    log('upstream fixture is down', { level: 'info', correlation_id: 'c-1' });
    log('line with "quotes"\nand a newline');
    expect(out.map((l) => JSON.parse(l))).toEqual([
      {
        ts: '1970-01-01T00:00:00.000Z',
        level: 'info',
        msg: 'upstream fixture is down',
        correlation_id: 'c-1',
      },
      { ts: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'line with "quotes"\nand a newline' },
    ]);
    expect(out.every((l) => !l.includes('\n'))).toBe(true);
  });
});
