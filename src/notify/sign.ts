// The webhook signature: HMAC-SHA256 over `timestamp.body`, as the headers carry it and a receiver checks it.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'X-Portcullis-Timestamp';
export const SIGNATURE_HEADER = 'X-Portcullis-Signature';
export const DELIVERY_HEADER = 'X-Portcullis-Delivery';

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`); the timestamp is Unix seconds as sent. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does (the README shows the same in a few lines): recompute, compare in constant
 * time, and refuse a timestamp older than `toleranceS` so a captured request cannot be replayed later.
 */
export function verifySignature(options: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: string;
  nowS?: number;
  toleranceS?: number;
}): boolean {
  const { timestamp, body } = options;
  if (timestamp === undefined || options.signature === undefined || !/^\d{1,12}$/.test(timestamp))
    return false;
  const now = options.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceS ?? 300)) return false;
  const expected = Buffer.from(signature(options.secret, timestamp, body));
  const given = Buffer.from(options.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
