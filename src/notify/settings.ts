// The policy's webhooks made ready to send: `${VAR}` expanded, the transport judged again, or the webhook disabled and why.
import { type NotificationEvent, remotePlainHttpHost, type WebhookConfig } from '../policy/index.js';
import { expandEnv } from '../proxy/index.js';

/** A webhook the notifier can send to: its URL and secret are real values, never logged. */
export interface ResolvedWebhook {
  id: string;
  url: string;
  events: ReadonlySet<NotificationEvent>;
  /** Undefined: sent unsigned (the policy asked for no secret; load warned). */
  secret: string | undefined;
  format: 'slack' | 'json';
  timeoutMs: number;
}

/** A webhook that will not be sent to, and why: for the Policy page and /health/ready. */
export interface DisabledWebhook {
  id: string;
  reason: string;
}

/**
 * Closed: a secret that was asked for but whose variable is not set disables the webhook instead of
 * sending unsigned requests a receiver would have to accept or drop; so does a `${VAR}` host that
 * turns out to be plain http:// to another machine. Neither stops the proxy: a notification is not
 * worth refusing calls over, and the Policy page and /health/ready say what is off.
 */
export function resolveWebhook(
  config: WebhookConfig,
  env: NodeJS.ProcessEnv,
): { webhook: ResolvedWebhook } | { disabled: DisabledWebhook } {
  const where = `notifications webhook ${config.id}`;
  let url: string;
  let secret: string | undefined;
  try {
    // The message names the variable, never its value.
    url = expandEnv(config.url, env, `${where}: url`);
    secret = config.secret === undefined ? undefined : expandEnv(config.secret, env, `${where}: secret`);
  } catch (error) {
    return { disabled: { id: config.id, reason: `${(error as Error).message}; the webhook is disabled` } };
  }
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    return {
      disabled: { id: config.id, reason: `${where}: url is not an http(s) URL; the webhook is disabled` },
    };
  const host = remotePlainHttpHost(url);
  if (host !== undefined)
    return {
      disabled: {
        id: config.id,
        reason: `${where}: plain http:// to ${host}, which is not this machine; use https://. The webhook is disabled`,
      },
    };
  if (secret === '')
    return { disabled: { id: config.id, reason: `${where}: the secret is empty; the webhook is disabled` } };
  return {
    webhook: {
      id: config.id,
      url,
      events: new Set(config.events),
      secret,
      format: config.format,
      timeoutMs: config.timeoutMs,
    },
  };
}
