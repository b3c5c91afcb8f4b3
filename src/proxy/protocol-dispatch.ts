// Hands each message to the SDK Protocol's request, notification or response handling by its shape, without zod.

import type { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';

/** The three steps of the SDK Protocol's (1.x) message handling that its dispatch calls. */
interface ProtocolSteps {
  _onrequest(message: JSONRPCMessage, extra?: MessageExtraInfo): void;
  _onnotification(message: JSONRPCMessage): void;
  _onresponse(message: JSONRPCMessage): void;
}

// biome-ignore lint/suspicious/noExplicitAny: any Protocol, whatever its request and result types.
type AnyProtocol = Protocol<any, any, any>;

/** Whether this SDK's Protocol has the steps dispatchByShape calls (it is private API). */
export function hasProtocolSteps(protocol: AnyProtocol): boolean {
  const steps = protocol as unknown as Partial<Record<keyof ProtocolSteps, unknown>>;
  return (
    typeof steps._onrequest === 'function' &&
    typeof steps._onnotification === 'function' &&
    typeof steps._onresponse === 'function'
  );
}

/**
 * The SDK Protocol tells a message's kind by trying zod schemas in turn (result, error, request,
 * notification): a request costs two failed parses, each building its list of issues, before the
 * one that succeeds; a notification three. Our transports have checked every message against the
 * same schema already (asJsonRpcMessage), so its keys say what it is: `method` and `id` a request,
 * `method` alone a notification, anything else an answer. Call after `protocol.connect(transport)`
 * (which set the transport's callback this replaces), and only on transports that check their
 * messages. When this SDK's Protocol lacks those steps, its own dispatch stays.
 */
export function dispatchByShape(protocol: AnyProtocol, transport: Transport): void {
  if (!hasProtocolSteps(protocol)) return;
  const steps = protocol as unknown as ProtocolSteps;
  transport.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => {
    if ('method' in message) {
      if ('id' in message) steps._onrequest(message, extra);
      else steps._onnotification(message);
    } else {
      steps._onresponse(message);
    }
  };
}
