// A real webhook receiver for the notification tests: node:http on 127.0.0.1:0, recording every POST, answering as scripted.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
  /** The JSON body, parsed. */
  json: Record<string, unknown> & { portcullis: Record<string, unknown> };
}

/** What the receiver answers a request with: a status (and headers), or nothing at all until released. */
export type Answer = number | { status: number; headers?: Record<string, string> } | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests answered 'hang' and still open. */
  hanging(): number;
  /** Answers every hanging request 200. */
  release(): void;
  close(): Promise<void>;
}

/** `answer(n)` decides the n-th request's answer (0-based); 200 by default. */
export async function startReceiver(answer: (n: number) => Answer = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const n = received.length;
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body,
        at: Date.now(),
        json: JSON.parse(body),
      });
      const a = answer(n);
      if (a === 'hang') {
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      const { status, headers } = typeof a === 'number' ? { status: a, headers: {} } : a;
      res.writeHead(status, headers).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    hanging: () => held.size,
    release() {
      for (const res of held) res.writeHead(200).end('ok');
      held.clear();
    },
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
