// Fixture upstreams joined in this process over InMemoryTransport: the same server as fixture-server.ts, no child.

import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { realUpstreamTransport, type UpstreamTransportFactory } from '../../src/proxy/index.js';
import { fixtureServer } from './fixture.js';
import { FIXTURE } from './peers.js';

/**
 * Sends each message as its JSON text would arrive: a copy, as over a pipe, so neither side can
 * see the other's objects (or anything JSON would not carry).
 */
class WireTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly inner: InMemoryTransport;

  constructor(inner: InMemoryTransport) {
    this.inner = inner;
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
    inner.onmessage = (message) => this.onmessage?.(message);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(JSON.parse(JSON.stringify(message)) as JSONRPCMessage, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Stands in for a process id in the fixture's log: each instance (a "restart") gets a new one, above
 * any real pid (Linux's pid_max is at most 2^22), so a stray kill(pid) can reach nothing.
 */
let instances = 10_000_000;

/**
 * An upstream transport factory that runs every `node FIXTURE` upstream in this process, with the
 * environment its child would have had (spec.env: FIXTURE_LOG and the other settings); other
 * upstreams get their real transport. A new connection (a restart) gets a new server instance.
 */
export function inProcessFixtures(): UpstreamTransportFactory {
  return (spec, log) => {
    if (spec.kind !== 'stdio' || spec.args[0] !== FIXTURE) return realUpstreamTransport(spec, log);
    const [client, server] = InMemoryTransport.createLinkedPair();
    const host = {
      env: spec.env,
      pid: ++instances,
      exit: () => void server.close(),
      stdout: () => {
        throw new Error('bignoise writes to stdout: run this fixture as a process');
      },
    };
    void fixtureServer(host).connect(new WireTransport(server));
    return new WireTransport(client);
  };
}
