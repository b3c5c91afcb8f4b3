// Serves the web app on a loopback port; a second proxy process finding the port taken leaves it be.
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { closeServer, isWildcard, listenOn, urlHost } from '../util/index.js';
import { buildWebApp, type WebAppOptions } from './app.js';
import type { WebEnv } from './security.js';

export const DEFAULT_UI_PORT = 8787;

/** The port is taken (most likely by another Portcullis process serving the same UI). */
export class WebPortInUseError extends Error {
  readonly code = 'E_UI_PORT_IN_USE';
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`${host}:${port} is already in use`);
  }
}

export interface WebServerOptions extends Omit<WebAppOptions, 'allowedHosts'> {
  /** Default 8787; 0 picks a free port. */
  port?: number | undefined;
  /** Default 127.0.0.1. Anything else exposes the approval queue beyond this machine: think twice. */
  host?: string | undefined;
  /** Extra `host:port` values to accept in the Host header (e.g. behind an SSH tunnel). */
  extraAllowedHosts?: readonly string[] | undefined;
}

export interface WebServer {
  /** e.g. http://127.0.0.1:8787 */
  url: string;
  host: string;
  port: number;
  app: Hono<WebEnv>;
  registry: Registry;
  /** A fresh one-time sign-in URL (print it to stderr; never to stdout, which belongs to MCP). */
  loginUrl(): string;
  close(): Promise<void>;
}

/**
 * Bound to every interface (a container publishing the port), the UI keeps its Host allowlist: the
 * loopback names at its port (a `-p 127.0.0.1:8787:8787` mapping, the image's health check), and
 * nothing else unless the operator adds names, since a DNS-rebound page must not read it.
 */
function hostsFor(host: string, port: number): string[] {
  const hosts = isWildcard(host) ? [] : [`${urlHost(host)}:${port}`];
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost' || isWildcard(host)) {
    hosts.push(`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`);
  }
  return [...new Set(hosts.map((h) => h.toLowerCase()))];
}

export async function serveWeb(options: WebServerOptions): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  const requested = options.port ?? DEFAULT_UI_PORT;
  let allowed: string[] = [];
  const web = buildWebApp({ ...options, allowedHosts: () => allowed });
  const server = createAdaptorServer({ fetch: web.app.fetch });
  const port = await listenOn(server, host, requested).then(
    (address) => address.port,
    (error: NodeJS.ErrnoException) => {
      web.close();
      throw error.code === 'EADDRINUSE' ? new WebPortInUseError(host, requested) : error;
    },
  );
  allowed = [...hostsFor(host, port), ...(options.extraAllowedHosts ?? []).map((h) => h.toLowerCase())];
  // A wildcard address is no place to send a browser; the loopback name is, through a port mapping too.
  const url = `http://${isWildcard(host) ? '127.0.0.1' : urlHost(host)}:${port}`;
  let closed = false;
  return {
    url,
    host,
    port,
    app: web.app,
    registry: web.registry,
    loginUrl: () => options.auth.loginUrl(url),
    async close() {
      if (closed) return;
      closed = true;
      try {
        web.close();
      } finally {
        await closeServer(server);
      }
    },
  };
}
