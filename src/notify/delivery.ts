// One webhook's deliveries: a bounded queue in memory, one POST at a time, retried with backoff, and its status.
import { randomUUID } from 'node:crypto';
import {
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  retry,
} from 'cockatiel';
import { notificationBody } from './body.js';
import type { Notification } from './events.js';
import type { ResolvedWebhook } from './settings.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signature, TIMESTAMP_HEADER } from './sign.js';

/** How deliveries wait and give up; tests shorten them. */
export interface DeliveryTimings {
  /** The first retry's delay; later ones grow exponentially (decorrelated jitter) up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Retries after the first attempt. */
  retries: number;
  /** The longest a receiver's Retry-After is honoured for. */
  retryAfterCapMs: number;
  /** Notifications waiting per webhook; a new one over it drops the oldest. */
  queueSize: number;
  /** How long close() lets queued notifications go out before dropping them. */
  closeDeadlineMs: number;
}

/**
 * Five attempts over about half a minute ride out a receiver's restart; a hundred waiting per
 * webhook is a burst of approvals, and a receiver down longer than that is told of the newest.
 */
export const DEFAULT_DELIVERY_TIMINGS: DeliveryTimings = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  retries: 4,
  retryAfterCapMs: 60_000,
  queueSize: 100,
  closeDeadlineMs: 2_000,
};

export type DeliveryOutcome = 'delivered' | 'failed' | 'dropped';

/** One attempt that did not succeed; `retryable` for network errors, timeouts, 5xx and 429. */
export class WebhookDeliveryError extends Error {
  readonly code = 'E_WEBHOOK_DELIVERY';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'WebhookDeliveryError';
  }
}

export interface WebhookStatus {
  id: string;
  enabled: boolean;
  /** Why it is off (a missing variable, plain http to another host); set only when disabled. */
  disabled?: string | undefined;
  events: string[];
  /** Waiting or being sent now. */
  queued: number;
  /** Dropped unsent: the queue was full, the webhook was removed or the proxy stopped. */
  dropped: number;
  delivered: number;
  failed: number;
  lastSuccess: string | null;
  lastFailure: { at: string; error: string; attempts: number } | null;
  /** The last delivery failed (or it is disabled): shown on /health/ready. */
  failing: boolean;
}

/** Retry-After in delta-seconds or as an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Only the IMF-fixdate form (`Wed, 21 Oct 2015 07:28:00 GMT`): Date.parse would read "-5" as a year.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** cockatiel's exponential backoff, but never shorter than the receiver's Retry-After (within the cap). */
class HonourRetryAfter implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(
    private readonly inner: IBackoffFactory<unknown>,
    private readonly capMs: number,
  ) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const base = this.inner.next(context);
    const error = 'error' in context.result ? context.result.error : undefined;
    const asked = error instanceof WebhookDeliveryError ? error.retryAfterMs : undefined;
    const duration =
      asked === undefined ? base.duration : Math.min(Math.max(asked, base.duration), this.capMs);
    return { duration, next: (ctx) => new HonourRetryAfter(base, this.capMs).next(ctx) };
  }
}

/** Why an attempt failed, for status and logs: the status or the error's code, never the URL (it may hold a token). */
function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof WebhookDeliveryError) return error.message;
  type Failure = { name?: string; code?: string; cause?: Failure; errors?: Failure[] };
  const e = error as Failure;
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // fetch's TypeError carries the socket's error as its cause (an AggregateError when several addresses were tried).
  const cause = e.cause;
  const what = cause?.code ?? cause?.errors?.[0]?.code ?? (cause as Error | undefined)?.message;
  return what ? what.slice(0, 200) : 'network error';
}

interface Queued {
  notification: Notification;
  delivery: string;
}

export interface ChannelDeps {
  timings: DeliveryTimings;
  /** The UI address links point at, read when a notification is sent. */
  uiUrl(): string | undefined;
  now(): number;
  log(line: string): void;
  outcome(webhook: string, outcome: DeliveryOutcome): void;
}

export class WebhookChannel {
  private readonly queue: Queued[] = [];
  private sending = false;
  private inFlight = false;
  private closed = false;
  private readonly abort = new AbortController();
  private idle: Array<() => void> = [];
  private counts = { dropped: 0, delivered: 0, failed: 0 };
  private lastSuccess: number | null = null;
  private lastFailure: { at: number; error: string; attempts: number } | null = null;
  private lastDropLog = -Infinity;

  constructor(
    private webhook: ResolvedWebhook,
    private readonly deps: ChannelDeps,
  ) {}

  get id(): string {
    return this.webhook.id;
  }

  wants(event: Notification['event']): boolean {
    return this.webhook.events.has(event);
  }

  /** New settings from a reload: queued notifications go out with them. */
  update(webhook: ResolvedWebhook): void {
    this.webhook = webhook;
  }

  /** Never waits and never throws: the caller is the path of a tool call. */
  enqueue(notification: Notification): void {
    if (this.closed) return;
    this.queue.push({ notification, delivery: randomUUID() });
    if (this.queue.length > this.deps.timings.queueSize) {
      this.queue.shift();
      this.drop(1, 'its queue is full: the oldest waiting notification was dropped');
    }
    void this.run();
  }

  private drop(count: number, why: string): void {
    this.counts.dropped += count;
    for (let i = 0; i < count; i++) this.deps.outcome(this.id, 'dropped');
    // A receiver that is down for long drops one per event: one line a minute says so.
    const now = this.deps.now();
    if (now - this.lastDropLog >= 60_000) {
      this.lastDropLog = now;
      this.deps.log(`notifications: webhook ${this.id}: ${why} (${this.counts.dropped} dropped so far)`);
    }
  }

  private async run(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
        this.inFlight = true;
        await this.deliver(item);
        this.inFlight = false;
        if (this.abort.signal.aborted) break;
      }
    } finally {
      this.inFlight = false;
      this.sending = false;
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  private async deliver(item: Queued): Promise<void> {
    const { timings } = this.deps;
    const policy = retry(
      handleWhen((e) => e instanceof WebhookDeliveryError && e.retryable),
      {
        maxAttempts: timings.retries,
        backoff: new HonourRetryAfter(
          new ExponentialBackoff({ initialDelay: timings.initialDelayMs, maxDelay: timings.maxDelayMs }),
          timings.retryAfterCapMs,
        ),
      },
    );
    let attempts = 0;
    try {
      await policy.execute(async () => {
        attempts++;
        await this.attempt(item, attempts);
      }, this.abort.signal);
      this.counts.delivered++;
      this.lastSuccess = this.deps.now();
      this.deps.outcome(this.id, 'delivered');
    } catch (error) {
      if (this.abort.signal.aborted) {
        this.drop(1, 'the proxy stopped before it was delivered');
        return;
      }
      const why = describe(error, this.webhook.timeoutMs);
      this.counts.failed++;
      this.lastFailure = { at: this.deps.now(), error: why, attempts };
      this.deps.outcome(this.id, 'failed');
      this.deps.log(
        `notifications: webhook ${this.id}: ${item.notification.event} (delivery ${item.delivery}) failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${why}`,
      );
    }
  }

  private async attempt(item: Queued, attempt: number): Promise<void> {
    const hook = this.webhook;
    const body = notificationBody(item.notification, {
      format: hook.format,
      uiUrl: this.deps.uiUrl(),
      delivery: item.delivery,
    });
    // Signed again on every attempt: a receiver's replay window counts from this send, not the first.
    const timestamp = String(Math.floor(this.deps.now() / 1000));
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'Portcullis-Webhook',
      [DELIVERY_HEADER]: item.delivery,
      'X-Portcullis-Event': item.notification.event,
      'X-Portcullis-Attempt': String(attempt),
      [TIMESTAMP_HEADER]: timestamp,
    };
    if (hook.secret !== undefined) headers[SIGNATURE_HEADER] = signature(hook.secret, timestamp, body);
    let response: Response;
    try {
      response = await fetch(hook.url, {
        method: 'POST',
        headers,
        body,
        // A redirect could lead the signed body to plain http or another host: not followed.
        redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(hook.timeoutMs)]),
      });
    } catch (error) {
      throw new WebhookDeliveryError(describe(error, hook.timeoutMs), true);
    }
    // The answer's body is not ours to read; releasing it frees the connection.
    await response.body?.cancel().catch(() => {});
    if (response.status >= 200 && response.status < 300) return;
    const status = `HTTP ${response.status}`;
    if (response.status === 429 || response.status >= 500)
      throw new WebhookDeliveryError(
        status,
        true,
        retryAfterMs(response.headers.get('retry-after'), this.deps.now()),
      );
    if (response.status >= 300 && response.status < 400)
      throw new WebhookDeliveryError(`${status}: redirects are not followed`, false);
    throw new WebhookDeliveryError(status, false);
  }

  status(): WebhookStatus {
    const failing =
      this.lastFailure !== null && (this.lastSuccess === null || this.lastFailure.at >= this.lastSuccess);
    return {
      id: this.id,
      enabled: true,
      events: [...this.webhook.events],
      queued: this.queue.length + (this.inFlight ? 1 : 0),
      ...this.counts,
      lastSuccess: this.lastSuccess === null ? null : new Date(this.lastSuccess).toISOString(),
      lastFailure:
        this.lastFailure === null
          ? null
          : { ...this.lastFailure, at: new Date(this.lastFailure.at).toISOString() },
      failing,
    };
  }

  /** Takes no more; lets what is queued go out for up to `deadlineMs`, then cancels and drops the rest. */
  async close(deadlineMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sending) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idle.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, deadlineMs);
        }),
      ]);
      clearTimeout(timer);
    }
    const left = this.queue.splice(0).length;
    this.abort.abort();
    if (left > 0) this.drop(left, 'the proxy stopped before they were delivered');
    // The attempt in flight ends at once on the abort; its count is settled before close returns.
    if (this.sending) await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}
