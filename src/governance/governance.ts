// The Governor the gate asks: the registry's trust, the incidents' suspensions and the limits, composed.
import type { Admission, DecidedCall, Decision, GovernedCall, Governor, Standing } from './deps.js';
import { unbooked } from './deps.js';
import type { DecisionListener, LimitsPart, StandingPart } from './types.js';

export interface GovernanceParts {
  /** Trust from the agent registry (auto-registers agents first seen). */
  registry?: StandingPart | undefined;
  /** Suspension from the incidents. */
  suspensions?: StandingPart | undefined;
  limits?: LimitsPart | undefined;
  listeners?: readonly DecisionListener[] | undefined;
}

export class Governance implements Governor {
  private readonly parts: GovernanceParts;
  private readonly listeners = new Set<(agent: string) => void>();
  private readonly decisionListeners: DecisionListener[];

  constructor(parts: GovernanceParts = {}) {
    this.parts = parts;
    this.decisionListeners = [...(parts.listeners ?? [])];
  }

  /** Trust from the registry, suspension from the incidents; either throwing throws (the gate denies). */
  standing(agent: string): Standing {
    const registry = this.parts.registry?.standing(agent) ?? {};
    const suspended = this.parts.suspensions?.standing(agent).suspended ?? registry.suspended;
    return {
      ...(registry.trust !== undefined && { trust: registry.trust }),
      ...(suspended !== undefined && { suspended }),
    };
  }

  admit(call: GovernedCall, decision: Decision): Admission {
    if (this.parts.limits) return this.parts.limits.admit(call, decision);
    return unbooked(decision);
  }

  decided(call: DecidedCall): void {
    for (const listener of this.decisionListeners) listener.decided(call);
  }

  /** Adds a listener of decisions after construction (a part built later, e.g. the metrics). */
  listen(listener: DecisionListener): () => void {
    this.decisionListeners.push(listener);
    return () => {
      const at = this.decisionListeners.indexOf(listener);
      if (at >= 0) this.decisionListeners.splice(at, 1);
    };
  }

  subscribe(listener: (agent: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An agent's standing changed (trust set, suspended, reinstated): its sessions list again. */
  changed(agent: string): void {
    for (const listener of this.listeners) listener(agent);
  }
}
