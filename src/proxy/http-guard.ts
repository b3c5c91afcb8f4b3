// What the HTTP endpoint lets in: its Host/Origin allowlist (for the shared guard) and the bearer key.

import type { CompiledPolicy } from '../policy/index.js';
import { type HostGuardOptions, isWildcard, sha256Hex, urlHost } from '../util/index.js';

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/**
 * What the shared host guard lets through to /mcp. Host: loopback names and the bound address, at
 * the endpoint's port once it listens (any port before then, when only app.request() reaches it).
 * Bound to every interface, any Host: the endpoint cannot know the names it is reached by, so there
 * the bearer key is the guard (src/app.ts refuses keyless clients unless --allow-anonymous). Origin:
 * those names at any port, http or https: browser-based MCP clients (the MCP Inspector on
 * localhost:6274) run on another local port, and the threat is a foreign site, not a local one.
 */
export function endpointAllowlist(
  boundHost: string,
  port: () => number | undefined,
): Pick<HostGuardOptions, 'hosts' | 'origins'> {
  const bound = urlHost(boundHost).toLowerCase();
  const names = isWildcard(bound) ? LOOPBACK : [...new Set([...LOOPBACK, bound])];
  const origins = names.flatMap((name) => [`http://${name}:*`, `https://${name}:*`]);
  return {
    hosts: () => (isWildcard(bound) ? 'any' : names.map((name) => `${name}:${port() ?? '*'}`)),
    origins: () => origins,
  };
}

/** The agent registry's keys, looked up per request (a revoked key is refused at once, open session or not). */
export interface RegistryKeys {
  /** The agent whose active registry key hashes to this hex digest. */
  agentOf(sha256: string): string | undefined;
  /** Whether any registry agent has an active key (then a key is required, as for the policy's). */
  any(): boolean;
}

export type Identity = { ok: true; agent: string; keyHash: string | null } | { ok: false; message: string };

/**
 * Fail closed: a presented key must belong to an agent of the policy or an active key of the
 * registry; a missing key is accepted (as `fallbackAgent`) only when neither has keyed agents, and anonymous
 * clients are allowed (they are not on an address other hosts can reach, unless the operator said so).
 */
export function identify(
  authorization: string | undefined,
  policy: CompiledPolicy,
  fallbackAgent: string,
  allowAnonymous = true,
  registry?: RegistryKeys | undefined,
): Identity {
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) return { ok: false, message: 'the Authorization header must be "Bearer <key>"' };
    const keyHash = sha256Hex(match[1]);
    const agent = policy.agentByKeySha256(keyHash)?.id ?? registry?.agentOf(keyHash);
    if (!agent) return { ok: false, message: 'unknown or revoked bearer key' };
    return { ok: true, agent, keyHash };
  }
  if (policy.agents.some((a) => a.key_sha256 !== undefined)) {
    return { ok: false, message: 'this endpoint requires a bearer key (the policy declares agents)' };
  }
  if (registry?.any()) {
    return {
      ok: false,
      message: 'this endpoint requires a bearer key (the agent registry has keyed agents)',
    };
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
