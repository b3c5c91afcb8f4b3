// The notifier's Prometheus metrics: deliveries by webhook and outcome, and what waits in each webhook's queue.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Notifier } from './notifier.js';

const DELIVERIES = 'portcullis_webhook_deliveries_total';
const QUEUE = 'portcullis_webhook_queue';

/** Registers the webhook metrics in `registry` (the web app's); returns the function that removes them. */
export function registerWebhookMetrics(registry: Registry, notifier: Notifier): () => void {
  const deliveries = new Counter({
    name: DELIVERIES,
    help: 'Webhook notifications by webhook id and outcome (delivered; failed: gave up after retries or refused by the receiver; dropped: queue full or proxy stopped)',
    labelNames: ['webhook', 'outcome'],
    registers: [registry],
  });
  new Gauge({
    name: QUEUE,
    help: 'Webhook notifications waiting or being sent, by webhook id',
    labelNames: ['webhook'],
    registers: [registry],
    collect() {
      // Webhook ids come from the policy: a bounded label set, and a removed one disappears here.
      this.reset();
      for (const status of notifier.status()) this.set({ webhook: status.id }, status.queued);
    },
  });
  const unsubscribe = notifier.onOutcome((webhook, outcome) => deliveries.inc({ webhook, outcome }));
  return () => {
    unsubscribe();
    registry.removeSingleMetric(DELIVERIES);
    registry.removeSingleMetric(QUEUE);
  };
}
