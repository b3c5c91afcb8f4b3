// Test helpers for the policy engine: load a policy from YAML text or a repo file, failing loudly.
import { readFileSync } from 'node:fs';
import { type CompiledPolicy, formatProblem, loadPolicy } from '../../src/policy/index.js';

export function policyFrom(yaml: string): CompiledPolicy {
  const result = loadPolicy(yaml, 'test.yml');
  if (!result.ok) throw new Error(result.errors.map(formatProblem).join('\n'));
  return result.policy;
}

export function repoFile(path: string): string {
  return readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
}

export function errorsOf(yaml: string): string[] {
  const result = loadPolicy(yaml, 'test.yml');
  return result.ok ? [] : result.errors.map(formatProblem);
}
