// Sign-in rate limit: failed credentials per client address, remembered in a bounded LRU, judged by an injected clock.

import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

export interface SignInLimitOptions {
  /** Failures allowed per address within `windowMs`; the next attempt is refused until the oldest ages out. */
  failures?: number | undefined;
  windowMs?: number | undefined;
  /** Addresses remembered at once; the least recently failing is forgotten first. */
  maxAddresses?: number | undefined;
  now?: (() => number) | undefined;
}

export type SignInVerdict =
  | { allowed: true /** Failures still allowed in the window before sign-in pauses. */; remaining: number }
  | { allowed: false; retryAfterSeconds: number };

export const SIGN_IN_FAILURES = 5;
export const SIGN_IN_WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

/**
 * Counts failed sign-ins (one-time code, admin token form, wrong Bearer token on the API) per address.
 * Only the socket's address counts: X-Forwarded-For and friends are whatever the client wants them to be.
 */
export class SignInLimiter {
  readonly failures: number;
  readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;
  /** Address -> times of its recent failures, oldest first, at most `failures` of them. Map order is LRU. */
  private readonly recent = new Map<string, number[]>();

  constructor(options: SignInLimitOptions = {}) {
    this.failures = options.failures ?? SIGN_IN_FAILURES;
    this.windowMs = options.windowMs ?? SIGN_IN_WINDOW_MS;
    this.maxAddresses = options.maxAddresses ?? MAX_ADDRESSES;
    this.now = options.now ?? Date.now;
  }

  /** May this address try a credential now? Ask before looking at the credential at all. */
  check(address: string): SignInVerdict {
    const now = this.now();
    return this.verdict(this.live(address, now) ?? [], now);
  }

  /** Record a failed attempt; returns what the address may do next. */
  fail(address: string): SignInVerdict {
    const now = this.now();
    const times = this.live(address, now) ?? [];
    times.push(now);
    if (times.length > this.failures) times.splice(0, times.length - this.failures);
    this.recent.delete(address);
    this.recent.set(address, times);
    // Bounded: an attacker with many addresses evicts the least recently failing, never grows the map.
    while (this.recent.size > this.maxAddresses) {
      const oldest = this.recent.keys().next().value as string;
      this.recent.delete(oldest);
    }
    return this.verdict(times, now);
  }

  /** How many addresses are remembered (for tests and metrics). */
  get size(): number {
    return this.recent.size;
  }

  /** The address's failures still inside the window, or undefined (and forgotten) when none are. */
  private live(address: string, now: number): number[] | undefined {
    const times = this.recent.get(address);
    if (!times) return undefined;
    const kept = times.filter((t) => t > now - this.windowMs);
    if (kept.length === 0) {
      this.recent.delete(address);
      return undefined;
    }
    this.recent.set(address, kept);
    return kept;
  }

  private verdict(times: number[], now: number): SignInVerdict {
    if (times.length < this.failures) return { allowed: true, remaining: this.failures - times.length };
    const oldest = times[times.length - this.failures] ?? now;
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000)),
    };
  }
}

/**
 * The key an address is counted under. IPv4-mapped IPv6 is its IPv4 address; other IPv6 addresses count
 * by their /64, which one host can fill with as many addresses as it likes.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const lower = address.toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (mapped?.[1]) return mapped[1];
  if (!lower.includes(':')) return lower;
  const groups = expandIpv6(lower);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : lower;
}

/** The eight 16-bit groups of an IPv6 address (no zone), or undefined when it is not one. */
function expandIpv6(address: string): string[] | undefined {
  let text = address;
  // A trailing dotted IPv4 part is two groups.
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => g.replace(/^0+(?=.)/, ''));
}

/** The socket's remote address, or undefined where there is no socket (app.request() in tests). */
export function clientAddress(c: Context): string {
  let address: string | undefined;
  try {
    address = getConnInfo(c).remote.address;
  } catch {
    // No Node socket behind this request: every such request shares the 'unknown' counter (fail closed).
  }
  return addressKey(address);
}
