// Notifications by webhook: approvals waiting, incidents opened and agents suspended, signed and retried, never in a call's way.
export { linkFor, mrkdwn, notificationBody } from './body.js';
export {
  DEFAULT_DELIVERY_TIMINGS,
  type DeliveryOutcome,
  type DeliveryTimings,
  retryAfterMs,
  WebhookDeliveryError,
  type WebhookStatus,
} from './delivery.js';
export { approvalPending, fromAuditRecord, type Notification } from './events.js';
export { registerWebhookMetrics } from './metrics.js';
export { type NotificationSources, Notifier, type NotifierOptions } from './notifier.js';
export { type DisabledWebhook, type ResolvedWebhook, resolveWebhook } from './settings.js';
export {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  signature,
  TIMESTAMP_HEADER,
  verifySignature,
} from './sign.js';
