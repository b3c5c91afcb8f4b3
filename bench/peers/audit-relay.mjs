// Bench path (opt-in): a raw line relay doing only the firewall's minimum per tools/call, to show what a relay without the SDK would cost.
//
// `policy`: parse the line, evaluate the real compiled policy, scan the result for secrets, write it back.
// `audit`: the same, plus the two audit records Portcullis writes (the decision before forwarding,
// awaited as Portcullis does; the outcome after the answer is written). Nothing else Portcullis does
// (sessions, limits, pins, approvals, metrics) and no error handling: a measuring stick, not a proxy.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuditLog } from '../../dist/src/audit/index.js';
import { loadPolicy } from '../../dist/src/policy/index.js';
import { LineReader } from '../../dist/src/proxy/line-reader.js';
import { screenResult } from '../../dist/src/proxy/result-scan.js';

const [mode, policyFile, command, ...args] = process.argv.slice(2);
const audited = mode === 'audit';
const loaded = loadPolicy(readFileSync(policyFile, 'utf8'), policyFile);
if (!loaded.ok) throw new Error(`${policyFile} does not load`);
const policy = loaded.policy;
const log = audited
  ? await AuditLog.open({ dataDir: mkdtempSync(path.join(tmpdir(), 'bench-audit-relay-')) })
  : null;
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
const pending = new Map();

/** Lines of `stream` as Portcullis' own stdio transports read them (dist LineReader). */
function lines(stream, onLine) {
  const reader = new LineReader({ onLine, onOversized: () => {} });
  stream.on('data', (chunk) => reader.push(chunk));
}

lines(process.stdin, async (line) => {
  const message = JSON.parse(line);
  if (message.method !== 'tools/call') return void child.stdin.write(`${line}\n`);
  const { name, arguments: args } = message.params;
  const correlation_id = randomUUID();
  const decision = policy.evaluate({ tool: name, server: 'echo', agent: 'bench', args });
  await log?.append({
    event: 'decision',
    decision: decision.decision,
    rule: decision.rule,
    reason: decision.reason,
    policy_sha256: decision.policySha256,
    args,
    correlation_id,
    agent: 'bench',
    server: 'echo',
    tool: name,
  });
  pending.set(message.id, { correlation_id, tool: name, started: performance.now() });
  child.stdin.write(`${JSON.stringify(message)}\n`);
});

lines(child.stdout, (line) => {
  const message = JSON.parse(line);
  const call = pending.get(message.id);
  if (!call) return void process.stdout.write(`${line}\n`);
  pending.delete(message.id);
  const screened = screenResult(message.result, 'mask');
  process.stdout.write(`${JSON.stringify({ ...message, result: screened.result })}\n`);
  void log?.append({
    event: 'execution',
    outcome: 'ok',
    latency_ms: performance.now() - call.started,
    correlation_id: call.correlation_id,
    agent: 'bench',
    server: 'echo',
    tool: call.tool,
  });
});

process.stdin.on('end', () => child.kill());
child.on('exit', (code) => process.exit(code ?? 0));
