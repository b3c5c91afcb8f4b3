// `portcullis policy validate|test|explain|migrate`: the policy file checked, exercised and converted from the shell.
import { readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import {
  type Call,
  type Decision,
  formatProblem,
  JsonInputError,
  type LoadResult,
  loadPolicy,
  parseJsonStrict,
  runPolicyTests,
  TRUST_LEVELS,
  type Trust,
} from '../policy/index.js';
import { deriveServerName, serversAndCommandWarning } from '../proxy/index.js';
import { EXIT_CHECK_FAILED, EXIT_OK, type Io, UsageError } from './io.js';

/** Reads and loads a policy file; an unreadable file is a usage error (exit 2), a bad policy is not. */
export async function readPolicyFile(file: string): Promise<{ text: string; result: LoadResult }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read policy ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}`,
    );
  }
  return { text, result: loadPolicy(text, file) };
}

function printProblems(result: LoadResult, io: Io): void {
  const problems = result.ok ? result.warnings : [...result.errors, ...result.warnings];
  for (const p of problems) io.err(formatProblem(p));
}

/** `command`: the `-- COMMAND ARGS` it will be run with, so a file whose `servers:` would apply too is warned about. */
export async function policyValidate(file: string, io: Io, command?: readonly string[]): Promise<number> {
  const { result } = await readPolicyFile(file);
  printProblems(result, io);
  if (!result.ok) return EXIT_CHECK_FAILED;
  const [program, ...args] = command ?? [];
  if (program !== undefined) {
    const { naming, servers } = result.policy;
    const upstream = { name: deriveServerName(program, args), command: program, args };
    const both = serversAndCommandWarning(servers, naming.prefix, naming.separator, upstream);
    if (both !== undefined) io.err(`${file}: warning: ${both}`);
  }
  const from = result.sourceVersion === 1 ? ' (AegisMCP version 1, migrated in memory)' : '';
  io.out(`${file}: ok${from}: ${result.policy.ruleIds.length} rules, sha256 ${result.policy.sha256}`);
  return EXIT_OK;
}

export async function policyTest(file: string, io: Io): Promise<number> {
  const { result } = await readPolicyFile(file);
  printProblems(result, io);
  if (!result.ok) return EXIT_CHECK_FAILED;
  const results = runPolicyTests(result.policy);
  for (const r of results)
    io.out(`${r.passed ? 'pass' : 'FAIL'}  ${r.test.name}${r.failure ? `: ${r.failure}` : ''}`);
  const failed = results.filter((r) => !r.passed).length;
  io.out(`${results.length - failed} passed, ${failed} failed`);
  return failed > 0 ? EXIT_CHECK_FAILED : EXIT_OK;
}

export interface ExplainOptions {
  tool: string;
  server?: string | undefined;
  agent?: string | undefined;
  trust?: string | undefined;
  args?: string | undefined;
  json?: boolean | undefined;
}

export async function policyExplain(file: string, options: ExplainOptions, io: Io): Promise<number> {
  let args: unknown = {};
  if (options.args !== undefined) {
    try {
      args = parseJsonStrict(options.args);
    } catch (error) {
      if (error instanceof JsonInputError) throw new UsageError(`--args: ${error.message}`);
      throw error;
    }
  }
  if (options.trust !== undefined && !(TRUST_LEVELS as readonly string[]).includes(options.trust)) {
    throw new UsageError(`--trust must be one of ${TRUST_LEVELS.join(', ')}`);
  }
  const { result } = await readPolicyFile(file);
  printProblems(result, io);
  if (!result.ok) return EXIT_CHECK_FAILED;
  const call: Call = { tool: options.tool, server: options.server, agent: options.agent, args };
  if (options.trust !== undefined) call.trust = options.trust as Trust;
  // As in the gate: a call outside its server's roots is denied before any rule is read.
  const outside = result.policy.containment(call);
  const d: Decision =
    outside === null
      ? result.policy.evaluate(call, { explain: true })
      : { decision: 'deny', rule: null, reason: outside, policySha256: result.policy.sha256, trace: [] };
  if (options.json) {
    io.out(JSON.stringify({ decision: d.decision, rule: d.rule, reason: d.reason, trace: d.trace ?? [] }));
    return EXIT_OK;
  }
  io.out(
    `${d.decision.toUpperCase()} by ${outside !== null ? 'Portcullis (containment)' : d.rule === null ? 'the default' : `rule ${d.rule}`}: ${d.reason}`,
  );
  for (const step of d.trace ?? []) io.out(`  ${step.matched ? '->' : '  '} ${step.rule}: ${step.detail}`);
  if (outside !== null)
    io.out(
      `  -> containment: the server's roots are ${(result.policy.roots[call.server as string] ?? []).join(', ')}`,
    );
  else if (d.rule === null) io.out(`  -> default: ${result.policy.defaultDecision}`);
  io.out(`policy sha256 ${d.policySha256}`);
  return EXIT_OK;
}

export async function policyMigrate(file: string, io: Io): Promise<number> {
  const { result } = await readPolicyFile(file);
  printProblems(result, io);
  if (!result.ok) return EXIT_CHECK_FAILED;
  if (result.sourceVersion === 2) io.err(`${file} is already version 2; printing it unchanged in meaning`);
  io.out(
    `# Migrated by portcullis policy migrate from ${file}\n${stringify(result.doc, { lineWidth: 0 })}`.trimEnd(),
  );
  return EXIT_OK;
}
