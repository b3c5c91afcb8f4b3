// A fetch for one https:// upstream that trusts its ca_file besides the system CAs, over node:https (no new dependency).

import { Agent, request } from 'node:https';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { rootCertificates } from 'node:tls';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/** Statuses a Response may not have a body with. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * Node 20's fetch is undici, but its Agent (the only way to give it a CA) is not importable
 * without the undici package. node:https takes `ca` directly. Certificates and host names are
 * still checked (rejectUnauthorized stays on); redirects are not followed, which the SDK's
 * same-origin redirect handling expects of `redirect: 'manual'`.
 */
export function fetchTrusting(ca: string): FetchLike {
  // No keep-alive: each connection attempt builds a new fetch, and idle pooled sockets of old ones
  // would outlive it. A handshake per request is the price, paid only by ca_file upstreams.
  const agent = new Agent({ ca: [...rootCertificates, ca], keepAlive: false });
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input);
      // ca_file is about certificates: nothing may go out over plain http through this fetch.
      if (url.protocol !== 'https:') {
        reject(new TypeError(`ca_file applies to https:// only, not ${url.protocol}`));
        return;
      }
      const body = requestBody(init.body);
      if (body instanceof TypeError) {
        reject(body);
        return;
      }
      const req = request(url, {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init.headers)),
        agent,
        ...(init.signal && { signal: init.signal }),
      });
      req.once('error', reject);
      req.once('response', (res) => {
        const headers = new Headers();
        for (const [key, value] of Object.entries(res.headers)) {
          for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value])
            headers.append(key, one);
        }
        const status = res.statusCode ?? 502;
        const empty = NULL_BODY.has(status) || init.method === 'HEAD';
        if (empty) res.resume();
        const stream = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        resolve(
          new Response(stream as globalThis.ReadableStream<Uint8Array> | null, {
            status,
            statusText: res.statusMessage ?? '',
            headers,
          }),
        );
      });
      req.end(body);
    });
}

/** The SDK sends JSON text; anything else it might send one day is refused, never silently dropped. */
function requestBody(body: RequestInit['body']): string | Uint8Array | undefined | TypeError {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return new TypeError('ca_file upstreams: unsupported request body type');
}
