// The one DNS-rebinding guard, for the /mcp endpoint and the UI alike: Host, Origin and Fetch Metadata.
import type { Context, MiddlewareHandler } from 'hono';

export type HostGuardRefusal = 'host' | 'origin' | 'cross-site';

export interface HostGuardOptions {
  /**
   * `name:port` values the Host header may carry, lower case (`127.0.0.1:8787`, `[::1]:8787`). A
   * `name:*` entry takes any port (a listener that does not know its port yet); `'any'` takes every
   * Host, for a listener bound to every interface, which cannot know the names it is reached by.
   */
  hosts(): readonly string[] | 'any';
  /**
   * Origins a browser request may come from, exactly (`http://127.0.0.1:8787`), lower case. A
   * `scheme://name:*` entry takes every port of that name: other local ports may then call.
   */
  origins(): readonly string[];
  /** The response to a refused request; throwing (an HTTPException) is fine too. */
  refuse(c: Context, refusal: HostGuardRefusal): Response | Promise<Response>;
}

/** `value` is `pattern`, or `pattern` ends in `:*` and `value` is that name with any port or none. */
function matches(value: string, pattern: string): boolean {
  if (!pattern.endsWith(':*')) return value === pattern;
  const name = pattern.slice(0, -2);
  return value === name || (value.startsWith(`${name}:`) && /^\d{1,5}$/.test(value.slice(name.length + 1)));
}

/**
 * A page on evil.example that resolves to 127.0.0.1 still sends its own Host, and a cross-site form
 * or fetch sends its own Origin: both must be on the allowlist. Clients other than browsers usually
 * send no Origin, and that passes; `Origin: null` (sandboxed frames, some redirects) never does.
 */
export function hostGuard(options: HostGuardOptions): MiddlewareHandler {
  return async (c, next) => {
    const refusal = hostRefusal(
      options,
      (name) => c.req.header(name),
      () => new URL(c.req.url).host,
    );
    if (refusal !== undefined) return options.refuse(c, refusal);
    await next();
  };
}

/**
 * Why a request with these headers is refused, or undefined when it passes: the guard's check on
 * its own, for a handler that serves Node's request directly. `fallbackHost` names the host when
 * there is no Host header (the request URL's).
 */
export function hostRefusal(
  options: Pick<HostGuardOptions, 'hosts' | 'origins'>,
  header: (name: string) => string | undefined,
  fallbackHost: () => string,
): HostGuardRefusal | undefined {
  const hosts = options.hosts();
  if (hosts !== 'any') {
    const host = (header('host') ?? fallbackHost()).toLowerCase();
    if (!hosts.some((allowed) => matches(host, allowed))) return 'host';
  }
  const origin = header('origin')?.toLowerCase();
  let otherPort = false;
  if (origin !== undefined) {
    const allowed = options.origins();
    if (!allowed.includes(origin)) {
      if (!allowed.some((pattern) => matches(origin, pattern))) return 'origin';
      otherPort = true;
    }
  }
  // Fetch Metadata says outright where a browser request comes from. Another port on 127.0.0.1 is
  // "same-site" (SameSite ignores ports), so only same-origin and direct navigation pass, unless
  // the Origin was let in by a port wildcard: the listener asked for other local ports then.
  const site = header('sec-fetch-site');
  if ((site === 'cross-site' || site === 'same-site') && !otherPort) return 'cross-site';
  return undefined;
}
