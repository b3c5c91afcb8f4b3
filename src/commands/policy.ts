// `portcullis policy validate|test|explain|migrate`: the policy file checked, exercised and converted from the shell.
import { readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { formatProblem, type LoadResult, loadPolicy, runPolicyTests } from '../policy/index.js';
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
