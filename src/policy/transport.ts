// Which upstream URLs would travel in the clear to another machine: plain http:// to a host that is not loopback.

/**
 * Loopback as the WHATWG URL parser spells a host: it has already lower-cased names and turned
 * 127.1, 0x7f000001 and 2130706433 into 127.0.0.1, and ::ffff:127.0.0.1 into [::ffff:7f00:1].
 * Kept here rather than taken from src/util: src/policy imports nothing of ours.
 */
function isLoopbackHostname(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)) return true;
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(hostname);
}

/**
 * The host of a plain http:// URL that leaves this machine, else undefined (https, loopback, or not
 * a URL at all: that is reported elsewhere). `http://localhost@evil.example` is evil.example.
 */
export function remotePlainHttpHost(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:') return undefined;
  return isLoopbackHostname(parsed.hostname) ? undefined : parsed.hostname;
}

/** Whether the scheme and host are written out, so they can be judged before `${VAR}`s are expanded. */
export function hostIsLiteral(url: string): boolean {
  const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  return !authority.includes('$');
}
