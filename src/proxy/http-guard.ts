// DNS-rebinding and identity checks for the HTTP endpoint: Host, Origin, and the bearer key.

import type { CompiledPolicy } from '../policy/types.js';
import { sha256Hex } from '../util/index.js';

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

/** Host names a request may address: loopback names and the address the proxy is bound to. */
export function allowedHostnames(boundHost: string): Set<string> {
  const names = new Set(LOOPBACK);
  const bound = boundHost.includes(':') && !boundHost.startsWith('[') ? `[${boundHost}]` : boundHost;
  if (!WILDCARD.has(bound)) names.add(bound.toLowerCase());
  return names;
}

function hostnameOf(value: string): string | undefined {
  try {
    return new URL(value).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** A Host header naming anything else is a rebinding attempt (evil.example resolving to 127.0.0.1). */
export function hostAllowed(host: string | undefined, allowed: Set<string>, wildcard: boolean): boolean {
  if (host === undefined) return false;
  if (wildcard) return true;
  const name = hostnameOf(`http://${host}`);
  return name !== undefined && allowed.has(name);
}

/**
 * Browsers send Origin; other clients usually do not. A present Origin must name an allowed host
 * (any port: the threat is a foreign site, not another local one). "null" and garbage are refused.
 */
export function originAllowed(origin: string | undefined, allowed: Set<string>): boolean {
  if (origin === undefined) return true;
  const name = hostnameOf(origin);
  return name !== undefined && allowed.has(name);
}

export function isWildcard(host: string): boolean {
  return WILDCARD.has(host);
}

/** Whether only this machine can reach an address: localhost, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const name = bare.toLowerCase();
  if (name === 'localhost' || name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return true;
  return /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

export type Identity = { ok: true; agent: string; keyHash: string | null } | { ok: false; message: string };

/**
 * Fail closed: a presented key must belong to an agent of the policy; a missing key is accepted
 * (as `fallbackAgent`) only when the policy declares no keyed agents at all, and anonymous
 * clients are allowed (they are not on an address other hosts can reach, unless the operator said so).
 */
export function identify(
  authorization: string | undefined,
  policy: CompiledPolicy,
  fallbackAgent: string,
  allowAnonymous = true,
): Identity {
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) return { ok: false, message: 'the Authorization header must be "Bearer <key>"' };
    const keyHash = sha256Hex(match[1]);
    const agent = policy.agentByKeySha256(keyHash);
    if (!agent) return { ok: false, message: 'unknown bearer key' };
    return { ok: true, agent: agent.id, keyHash };
  }
  if (policy.agents.some((a) => a.key_sha256 !== undefined)) {
    return { ok: false, message: 'this endpoint requires a bearer key (the policy declares agents)' };
  }
  if (!allowAnonymous) {
    // A reload that dropped every key must not turn a reachable endpoint anonymous.
    return {
      ok: false,
      message:
        'this endpoint is reachable from other hosts and the policy declares no keyed agents; anonymous clients are refused (start with --allow-anonymous to serve them)',
    };
  }
  return { ok: true, agent: fallbackAgent, keyHash: null };
}
