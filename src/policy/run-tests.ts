// Runs a policy's inline `tests:` against the compiled policy itself.
import type { CompiledPolicy, Decision, PolicyTestCase } from './types.js';

export interface PolicyTestResult {
  test: PolicyTestCase;
  decision: Decision;
  passed: boolean;
  /** Why it failed, or null. */
  failure: string | null;
}

export function runPolicyTests(policy: CompiledPolicy): PolicyTestResult[] {
  return policy.tests.map((test) => {
    // As in the gate: a tool call outside its server's roots is denied before any rule.
    const outside = test.access ? null : policy.containment(test.call);
    const decision: Decision =
      outside !== null
        ? { decision: 'deny', rule: null, reason: outside, policySha256: policy.sha256 }
        : test.access
          ? policy.evaluateAccess(test.access)
          : policy.evaluate(test.call);
    let failure: string | null = null;
    if (decision.decision !== test.expect) {
      failure = `expected ${test.expect}, got ${decision.decision} (rule ${decision.rule ?? 'default'}: ${decision.reason})`;
    } else if (test.rule !== undefined && decision.rule !== test.rule) {
      failure = `expected rule ${test.rule ?? 'default'}, got ${decision.rule ?? 'default'}`;
    }
    return { test, decision, passed: failure === null, failure };
  });
}
