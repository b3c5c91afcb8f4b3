// Sockets and host names shared by the /mcp endpoint and the UI: listen, close, and how a host reads in a URL.
import type { AddressInfo, Server } from 'node:net';

const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

/** `::1` → `[::1]`: an IPv6 address is bracketed before a port or in a URL; names and IPv4 stay as they are. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** An address that binds every interface, so the listener cannot know the names it is reached by. */
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

/**
 * Binds `server` to host:port (0 picks a free port) and resolves with the bound address; a failure
 * to bind (EADDRINUSE, EACCES) rejects with Node's error, its `code` intact for the caller to judge.
 */
export function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stops listening and ends open connections: live streams (SSE) never end on their own and would hold close() forever. */
export function closeServer(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
