// Prometheus metrics of the approval queue: what is pending now, and how approvals ended.
import { Counter, Gauge, Registry } from 'prom-client';
import type { ApprovalQueue } from '../approvals/index.js';

export function createMetrics(queue: ApprovalQueue, registry = new Registry()) {
  new Gauge({
    name: 'portcullis_approvals_pending',
    help: 'Approvals waiting for a person (all proxy processes sharing the data dir)',
    registers: [registry],
    collect() {
      if (queue.store.isOpen) this.set(queue.store.countPending());
    },
  });
  const outcomes = new Counter({
    name: 'portcullis_approval_events_total',
    help: 'Approval events handled by this process, by kind (created, approved, denied, expired, withdrawn, executed, refused: over the pending cap)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const unsubscribe = queue.subscribe((change) => {
    if (change.kind !== 'external') outcomes.inc({ kind: change.kind });
  });
  return {
    registry,
    close(): void {
      unsubscribe();
      registry.removeSingleMetric('portcullis_approvals_pending');
      registry.removeSingleMetric('portcullis_approval_events_total');
    },
  };
}
