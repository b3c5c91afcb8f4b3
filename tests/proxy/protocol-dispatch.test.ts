// The SDK Protocol steps the proxy's dispatch calls are there, and messages reach the right one by shape.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListRootsRequestSchema,
  ListRootsResultSchema,
  RootsListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { dispatchByShape, hasProtocolSteps } from '../../src/proxy/protocol-dispatch.js';
import { waitFor } from '../helpers/wait.js';

describe('dispatchByShape', () => {
  it('finds the steps in this SDK (else every message would take the slower zod dispatch unnoticed)', () => {
    expect(hasProtocolSteps(new Server({ name: 's', version: '1' }))).toBe(true);
    expect(hasProtocolSteps(new Client({ name: 'c', version: '1' }))).toBe(true);
  });

  it('answers requests, handles notifications and settles answers, both ways', async () => {
    const server = new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } });
    const notified: string[] = [];
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      // A request to the client while the call runs, and its answer back.
      const roots = await extra.sendRequest({ method: 'roots/list' }, ListRootsResultSchema);
      return { content: [{ type: 'text', text: `${request.params.name}:${roots.roots.length}` }] };
    });
    server.setNotificationHandler(RootsListChangedNotificationSchema, async (notification) => {
      notified.push(notification.method);
    });
    const client = new Client(
      { name: 'c', version: '1' },
      { capabilities: { roots: { listChanged: true } } },
    );
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: [{ uri: 'file:///a' }, { uri: 'file:///b' }],
    }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    dispatchByShape(server, serverSide);
    await client.connect(clientSide);
    dispatchByShape(client, clientSide);
    const installed = serverSide.onmessage;
    try {
      expect(await client.callTool({ name: 'tool', arguments: {} })).toEqual({
        content: [{ type: 'text', text: 'tool:2' }],
      });
      await client.sendRootsListChanged();
      await waitFor(() => notified.length === 1, 'the notification at the server');
      expect(notified).toEqual(['notifications/roots/list_changed']);
      expect(serverSide.onmessage).toBe(installed);
    } finally {
      await client.close();
    }
  });
});
