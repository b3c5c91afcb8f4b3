// Reads the policy file, watches it, and swaps in a new policy only when it loads and its tests pass.

import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type CompiledPolicy, formatProblem, loadPolicy, runPolicyTests } from '../policy/index.js';
import { PolicyLoadError } from './errors.js';

const DEBOUNCE_MS = 100;

/**
 * Loads policy text and runs its inline tests: returns the policy only when it is valid and every
 * test passes, else throws PolicyLoadError with `file:line:col: message` problems.
 */
export function loadTestedPolicy(text: string, file: string, log: (line: string) => void): CompiledPolicy {
  return loadTested(text, file, log).policy;
}

/** loadTestedPolicy, with the load warnings (`file:line:col: warning: ...`) kept for the Policy page. */
function loadTested(
  text: string,
  file: string,
  log: (line: string) => void,
): { policy: CompiledPolicy; warnings: string[] } {
  const loaded = loadPolicy(text, file);
  const warnings = loaded.warnings.map(formatProblem);
  for (const warning of warnings) log(warning);
  if (!loaded.ok) {
    throw new PolicyLoadError(`${file}: invalid policy`, loaded.errors.map(formatProblem));
  }
  const failing = runPolicyTests(loaded.policy).filter((r) => !r.passed);
  if (failing.length > 0) {
    throw new PolicyLoadError(
      `${file}: ${failing.length} policy test(s) fail`,
      failing.map((r) => `${file}: test "${r.test.name}": ${r.failure}`),
    );
  }
  return { policy: loaded.policy, warnings };
}

async function readPolicy(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PolicyLoadError(
      code === 'ENOENT' ? `${file}: policy file not found` : `${file}: cannot read (${code})`,
    );
  }
}

export interface PolicyChange {
  policy: CompiledPolicy;
  previous: CompiledPolicy;
}

export class PolicySource {
  readonly file: string;
  private currentPolicy: CompiledPolicy;
  private currentWarnings: readonly string[];
  private readonly log: (line: string) => void;
  private readonly listeners = new Set<(change: PolicyChange) => void>();
  private readonly refusedListeners = new Set<(error: PolicyLoadError) => void>();
  private readonly checks: Array<(policy: CompiledPolicy) => readonly string[]> = [];
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    file: string,
    loaded: { policy: CompiledPolicy; warnings: readonly string[] },
    log: (line: string) => void,
  ) {
    this.file = file;
    this.currentPolicy = loaded.policy;
    this.currentWarnings = loaded.warnings;
    this.log = log;
  }

  /** Reads, loads and tests the file once; throws PolicyLoadError when it is missing, invalid or fails a test. */
  static async open(file: string, log: (line: string) => void): Promise<PolicySource> {
    const absolute = path.resolve(file);
    return new PolicySource(absolute, loadTested(await readPolicy(absolute), absolute, log), log);
  }

  get current(): CompiledPolicy {
    return this.currentPolicy;
  }

  /** The load warnings of the policy in force (`file:line:col: warning: ...`), for the Policy page. */
  get warnings(): readonly string[] {
    return this.currentWarnings;
  }

  get dir(): string {
    return path.dirname(this.file);
  }

  onChange(listener: (change: PolicyChange) => void): void {
    this.listeners.add(listener);
  }

  /**
   * A check of another part on every reloaded policy (the agent registry: no id in both places): any
   * problem refuses the reload like an invalid policy, and the last good one stays in force.
   */
  addCheck(check: (policy: CompiledPolicy) => readonly string[]): void {
    this.checks.push(check);
  }

  onRefused(listener: (error: PolicyLoadError) => void): void {
    this.refusedListeners.add(listener);
  }

  /**
   * Watches the file's directory, not the file: editors replace files by rename, which would
   * leave a watch on the old inode silent.
   */
  watch(): void {
    if (this.watcher || this.closed) return;
    const base = path.basename(this.file);
    this.watcher = watch(this.dir, (_event, name) => {
      if (name !== null && name.toString() !== base) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.reloading = this.reloading.then(() => this.reload());
      }, DEBOUNCE_MS);
    });
    this.watcher.on('error', (error) => this.log(`policy watch failed: ${error.message}`));
  }

  /** Re-reads the file now; resolves once the new policy is in force or the reload was refused. */
  async reload(): Promise<void> {
    if (this.closed) return;
    let policy: CompiledPolicy;
    let warnings: readonly string[];
    try {
      ({ policy, warnings } = loadTested(await readPolicy(this.file), this.file, this.log));
      const problems = this.checks.flatMap((check) => check(policy));
      if (problems.length > 0) throw new PolicyLoadError(`${this.file}: refused`, problems);
    } catch (error) {
      if (!(error instanceof PolicyLoadError)) throw error;
      this.log(
        `policy reload refused, the last good policy (${this.currentPolicy.sha256.slice(0, 12)}) stays in force:`,
      );
      for (const problem of error.problems.length > 0 ? error.problems : [error.message])
        this.log(`  ${problem}`);
      for (const listener of this.refusedListeners) listener(error);
      return;
    }
    if (this.closed || policy.sha256 === this.currentPolicy.sha256) return;
    const previous = this.currentPolicy;
    this.currentPolicy = policy;
    this.currentWarnings = warnings;
    this.log(`policy reloaded: ${this.file} (sha256 ${policy.sha256.slice(0, 12)})`);
    for (const listener of this.listeners) listener({ policy, previous });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
