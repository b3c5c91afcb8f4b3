// The compliance score: 100 minus capped penalties a security lead can recompute by hand from the page's numbers.
import type { Severity } from '../../governance/index.js';

/** Whether the audit log's hash chains checked out the last time they were verified. */
export type IntegrityState = 'verified' | 'failed' | 'unknown';

export interface ScoreInputs {
  /** Incidents not yet resolved (open or acknowledged), by severity; null without an incident log. */
  unresolved: Readonly<Record<Severity, number>> | null;
  /** Agents suspended now; null without an agent directory. */
  suspended: number | null;
  /** Tool, resource and prompt decisions in the window, and how many of them were denials. */
  decisions: number;
  denials: number;
  /** Approvals in the window that expired with nobody answering them. */
  expired: number;
  integrity: IntegrityState;
}

export interface ScoreTerm {
  key: 'incidents' | 'suspended' | 'denials' | 'expired' | 'audit';
  label: string;
  /** The input as a person reads it ("2 high, 1 low", "12.5 per 100 calls"). */
  input: string;
  /** How the penalty is computed from the input. */
  rule: string;
  /** The most this term can take off. */
  cap: number;
  penalty: number;
}

export interface Score {
  score: number;
  terms: ScoreTerm[];
  formula: string;
}

export const INCIDENT_WEIGHTS: Readonly<Record<Severity, number>> = {
  critical: 25,
  high: 10,
  medium: 4,
  low: 1,
};
export const CAPS = { incidents: 50, suspended: 20, denials: 20, expired: 10 } as const;
export const SUSPENDED_WEIGHT = 5;
/** Points per denial per 100 decisions: 10 % of calls denied costs 5 points. */
export const DENIAL_WEIGHT = 0.5;
export const EXPIRED_WEIGHT = 2;
/** A chain that failed verification is evidence of tampering or loss; one never checked is only unproven. */
export const AUDIT_PENALTY: Readonly<Record<IntegrityState, number>> = {
  verified: 0,
  unknown: 10,
  failed: 30,
};

export const FORMULA =
  'score = 100 − min(50, 25·critical + 10·high + 4·medium + 1·low unresolved incidents) − min(20, 5 · suspended agents)' +
  ' − min(20, 0.5 · denials per 100 decisions) − min(10, 2 · approvals expired unanswered)' +
  ' − (audit chain: 0 verified, 10 not verified, 30 failed); rounded, never below 0';

function tenth(value: number): number {
  return Math.round(value * 10) / 10;
}

export function complianceScore(inputs: ScoreInputs): Score {
  const terms: ScoreTerm[] = [];
  const unresolved = inputs.unresolved;
  const incidentPoints =
    unresolved === null
      ? 0
      : (Object.keys(INCIDENT_WEIGHTS) as Severity[]).reduce(
          (sum, s) => sum + INCIDENT_WEIGHTS[s] * unresolved[s],
          0,
        );
  terms.push({
    key: 'incidents',
    label: 'Unresolved incidents',
    input:
      unresolved === null
        ? 'incident log not connected'
        : (['critical', 'high', 'medium', 'low'] as const).map((s) => `${unresolved[s]} ${s}`).join(', '),
    rule: '25 per critical, 10 per high, 4 per medium, 1 per low',
    cap: CAPS.incidents,
    penalty: Math.min(CAPS.incidents, incidentPoints),
  });
  terms.push({
    key: 'suspended',
    label: 'Suspended agents',
    input: inputs.suspended === null ? 'agent directory not connected' : String(inputs.suspended),
    rule: `${SUSPENDED_WEIGHT} per suspended agent`,
    cap: CAPS.suspended,
    penalty: Math.min(CAPS.suspended, SUSPENDED_WEIGHT * (inputs.suspended ?? 0)),
  });
  const rate = inputs.decisions === 0 ? 0 : (100 * inputs.denials) / inputs.decisions;
  terms.push({
    key: 'denials',
    label: 'Denials',
    input: `${inputs.denials} of ${inputs.decisions} decisions (${tenth(rate)} per 100)`,
    rule: `${DENIAL_WEIGHT} per denial per 100 decisions`,
    cap: CAPS.denials,
    penalty: tenth(Math.min(CAPS.denials, DENIAL_WEIGHT * rate)),
  });
  terms.push({
    key: 'expired',
    label: 'Approvals expired unanswered',
    input: String(inputs.expired),
    rule: `${EXPIRED_WEIGHT} per expired approval`,
    cap: CAPS.expired,
    penalty: Math.min(CAPS.expired, EXPIRED_WEIGHT * inputs.expired),
  });
  terms.push({
    key: 'audit',
    label: 'Audit chain',
    input:
      inputs.integrity === 'verified'
        ? 'verified'
        : inputs.integrity === 'failed'
          ? 'verification failed'
          : 'not verified',
    rule: '0 verified, 10 not verified, 30 failed',
    cap: AUDIT_PENALTY.failed,
    penalty: AUDIT_PENALTY[inputs.integrity],
  });
  const total = terms.reduce((sum, t) => sum + t.penalty, 0);
  return { score: Math.max(0, Math.round(100 - total)), terms, formula: FORMULA };
}
