// The notifier: follows the approval queue and the audit log, hands each event to the webhooks that want it, reports their state.
import type { QueueChange } from '../approvals/index.js';
import type { AuditObservation } from '../audit/index.js';
import type { NotificationSettings } from '../policy/index.js';
import {
  type ChannelDeps,
  DEFAULT_DELIVERY_TIMINGS,
  type DeliveryOutcome,
  type DeliveryTimings,
  WebhookChannel,
  type WebhookStatus,
} from './delivery.js';
import { approvalPending, fromAuditRecord, type Notification } from './events.js';
import { type DisabledWebhook, resolveWebhook } from './settings.js';

export interface NotifierOptions {
  /** Where `${VAR}` in webhook URLs and secrets is read from. */
  env: NodeJS.ProcessEnv;
  /** The UI this process serves or knows, when the policy's `notifications.ui_url` does not say. */
  uiUrl(): string | undefined;
  log(line: string): void;
  timings?: Partial<DeliveryTimings> | undefined;
  now?: (() => number) | undefined;
}

/** What the notifier follows: the approval queue's changes and the audit log's appends. */
export interface NotificationSources {
  approvals?: { subscribe(listener: (change: QueueChange) => void): () => void } | undefined;
  audit?: { observe(listener: (observation: AuditObservation) => void): () => void } | undefined;
}

export class Notifier {
  private readonly channels = new Map<string, WebhookChannel>();
  private disabled: DisabledWebhook[] = [];
  private settings: NotificationSettings = { webhooks: [] };
  private readonly timings: DeliveryTimings;
  private readonly listeners = new Set<(webhook: string, outcome: DeliveryOutcome) => void>();
  private readonly unsubscribes: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: NotifierOptions) {
    this.timings = { ...DEFAULT_DELIVERY_TIMINGS, ...options.timings };
  }

  /** Applies the policy's webhooks (at start and on every reload); a webhook keeps its queue and counts by id. */
  configure(settings: NotificationSettings): void {
    if (this.closed) return;
    this.settings = settings;
    const disabled: DisabledWebhook[] = [];
    const keep = new Set<string>();
    for (const config of settings.webhooks) {
      const resolved = resolveWebhook(config, this.options.env);
      if ('disabled' in resolved) {
        disabled.push(resolved.disabled);
        continue;
      }
      keep.add(config.id);
      const channel = this.channels.get(config.id);
      if (channel) channel.update(resolved.webhook);
      else this.channels.set(config.id, new WebhookChannel(resolved.webhook, this.channelDeps()));
    }
    for (const [id, channel] of this.channels) {
      if (keep.has(id)) continue;
      this.channels.delete(id);
      void channel.close(0);
    }
    for (const off of disabled)
      if (!this.disabled.some((d) => d.reason === off.reason)) this.options.log(off.reason);
    this.disabled = disabled;
  }

  private channelDeps(): ChannelDeps {
    return {
      timings: this.timings,
      uiUrl: () => this.settings.uiUrl ?? this.options.uiUrl(),
      now: this.options.now ?? Date.now,
      log: this.options.log,
      outcome: (webhook, outcome) => {
        for (const listener of this.listeners) listener(webhook, outcome);
      },
    };
  }

  /** Follows the sources until close(). A listener here runs in the path of a call: it only queues. */
  follow(sources: NotificationSources): void {
    if (sources.approvals)
      this.unsubscribes.push(
        sources.approvals.subscribe((change) => {
          if (change.kind === 'created') this.notify(approvalPending(change.approval));
        }),
      );
    if (sources.audit)
      this.unsubscribes.push(
        sources.audit.observe((observation) => {
          // Only what was written: a record that failed to append did not happen as far as the trail says.
          if (observation.record === undefined) return;
          const notification = fromAuditRecord(observation.record);
          if (notification) this.notify(notification);
        }),
      );
  }

  /** Queues `notification` for every webhook that wants its kind; never waits, never throws. */
  notify(notification: Notification): void {
    if (this.closed) return;
    for (const channel of this.channels.values()) {
      try {
        if (channel.wants(notification.event)) channel.enqueue(notification);
      } catch (error) {
        this.options.log(`notifications: webhook ${channel.id}: not queued: ${(error as Error).message}`);
      }
    }
  }

  /** Told of every delivery's end (metrics); returns the unsubscribe function. */
  onOutcome(listener: (webhook: string, outcome: DeliveryOutcome) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): WebhookStatus[] {
    const byOrder = this.settings.webhooks.map((w) => w.id);
    const enabled = [...this.channels.values()].map((c) => c.status());
    const off: WebhookStatus[] = this.disabled.map((d) => ({
      id: d.id,
      enabled: false,
      disabled: d.reason,
      events: [...(this.settings.webhooks.find((w) => w.id === d.id)?.events ?? [])],
      queued: 0,
      dropped: 0,
      delivered: 0,
      failed: 0,
      lastSuccess: null,
      lastFailure: null,
      failing: true,
    }));
    return [...enabled, ...off].sort((a, b) => byOrder.indexOf(a.id) - byOrder.indexOf(b.id));
  }

  /** Why webhooks are off, for the Policy page. */
  warnings(): string[] {
    return this.disabled.map((d) => d.reason);
  }

  /**
   * The /health/ready check: not ok while a webhook is disabled or its last delivery failed. It never
   * makes the proxy unready: calls flow whatever a chat service does (see the README).
   */
  check(): { ok: boolean; detail?: string | undefined } | undefined {
    const statuses = this.status();
    if (statuses.length === 0) return undefined;
    const failing = statuses.filter((s) => s.failing);
    if (failing.length === 0) return { ok: true };
    const detail = failing
      .map((s) =>
        s.enabled
          ? `webhook ${s.id}: last delivery failed at ${s.lastFailure?.at}: ${s.lastFailure?.error}`
          : `webhook ${s.id}: disabled`,
      )
      .join('; ');
    return { ok: false, detail };
  }

  /** Stops following, lets queued notifications go out for a short while, then drops the rest. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    // The channels stay listed: their status says what was dropped at close.
    await Promise.all([...this.channels.values()].map((c) => c.close(this.timings.closeDeadlineMs)));
  }
}
