// The seam between the gate and governance (the agent registry, limits and budgets, incidents and
// suspension): the gate owns it, src/governance implements it (as approvals implement review.ts).
import type { Decision, Trust } from '../policy/index.js';
import { errorText } from './errors.js';

/** Who an agent is right now, by the registry and the incidents; asked before every call and list. */
export interface Standing {
  /** The agent's trust as the registry holds it; undefined: the policy's `agents:` decides (or unknown). */
  trust?: Trust | undefined;
  /** Set while the agent is suspended: the reason every call is denied with ("agent suspended: …"); its lists are empty. */
  suspended?: string | undefined;
}

/** A call as governance sees it (tools only: resources and prompts are not limited, only suspended). */
export interface GovernedCall {
  agent: string;
  server: string;
  tool: string;
  args: unknown;
  correlationId: string;
}

/** Which limit a call broke, for the incident it opens and the metrics. */
export interface Breach {
  kind: 'rate' | 'concurrency' | 'budget';
  /** The limit's or budget's id in the policy. */
  id: string;
  reason: string;
}

/**
 * What limits and budgets make of a call the policy allowed or sent to review. An allowed call is
 * booked at admission (its amount counts against its budgets, it takes a concurrency slot); a
 * reviewed one only when `release()` says it runs. `end()` is called exactly once for every
 * admission: `ran` false gives the booking back.
 */
export interface Admission {
  /** The decision after limits: the one passed in when nothing changed; never wider. */
  decision: Decision;
  /** Set when a limit changed the decision. */
  breach?: Breach | undefined;
  /** Fields the decision record carries: the limit and budget state that was used (never secrets). */
  record?: Record<string, unknown> | undefined;
  /** An approved call is about to run: books it now; a string refuses it with that reason (nothing runs). */
  release(): string | undefined;
  /** The call is over; `ran`: it was forwarded. Idempotent. */
  end(ran: boolean): void;
}

/** A decision the gate made and recorded, for incidents and metrics. */
export interface DecidedCall extends GovernedCall {
  decision: Decision;
  breach?: Breach | undefined;
}

export interface Governor {
  /** Throws when it cannot tell (the gate denies: closed). Cheap: it runs on every call. */
  standing(agent: string): Standing;
  admit(call: GovernedCall, decision: Decision): Admission;
  /** Told of every tools/call decision after its record was written; must not throw (the gate logs it if it does). */
  decided(call: DecidedCall): void;
  /** Called with an agent whose standing changed (trust, suspension): its sessions list again. */
  subscribe(listener: (agent: string) => void): () => void;
}

/**
 * The standing `standing` gives now; one that throws (a registry that cannot be read) is a
 * suspension, so nothing is offered or run until it recovers (closed).
 */
export function standingNow(
  standing: (() => Standing) | undefined,
  log: (message: string) => void,
): Standing {
  try {
    return standing?.() ?? {};
  } catch (error) {
    log(`agent registry check failed: ${errorText(error)}`);
    return { suspended: 'the agent registry cannot be read, so calls are denied until it recovers' };
  }
}

/** An admission that books nothing: no limit applies, or the decision is a deny. */
export function unbooked(decision: Decision): Admission {
  return { decision, release: () => undefined, end() {} };
}

/** No registry, no limits: what the gate uses when it is given no governor. */
export const UNGOVERNED: Governor = {
  standing: () => ({}),
  admit: (_call, decision) => unbooked(decision),
  decided() {},
  subscribe: () => () => {},
};
