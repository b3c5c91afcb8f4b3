// Asking the person at the client to approve a reviewed call: MCP form elicitation, its question and its answer.

import {
  type ClientCapabilities,
  ResultSchema,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { errorText } from './errors.js';
import { type Extra, isObject } from './params.js';
import type { Elicit, ElicitAnswer, ElicitRequest } from './review.js';

/**
 * True when the client can answer a form elicitation. An empty `elicitation: {}` means form (the
 * 2025-06-18 shape); a client declaring modes names `form` itself, and one offering only `url` cannot.
 */
export function canElicitForm(
  capabilities: ClientCapabilities | Record<string, unknown> | undefined,
): boolean {
  const declared = (capabilities as Record<string, unknown> | undefined)?.elicitation;
  if (!isObject(declared)) return false;
  if (Object.keys(declared).length === 0) return true;
  return declared.form !== undefined;
}

/**
 * The SDK gives a request 60 s unless told otherwise; an approval waits for as long as the policy's
 * `approval.timeout`, and the queue aborts the request when that passes, so no earlier timer may fire.
 */
const NO_SDK_TIMEOUT_MS = 2_147_483_647;

/**
 * An Elicit that sends `elicitation/create` on the client request under review (over HTTP it travels
 * on that call's stream). The reply is read loosely so a malformed one is judged by readAnswer, not
 * thrown away as a schema error the person never sees.
 */
export function elicitVia(extra: Pick<Extra, 'sendRequest'>): Elicit {
  return async (request, signal) => {
    const result = await extra.sendRequest(
      { method: 'elicitation/create', params: { ...request } } as ServerRequest,
      ResultSchema.passthrough(),
      { signal, timeout: NO_SDK_TIMEOUT_MS },
    );
    return result as unknown as ElicitAnswer;
  };
}

/** What the person at the client said, or why the reply counts as a deny. */
export type ClientDecision =
  | { decision: 'approve'; note: string | null }
  | { decision: 'deny'; why: 'declined' | 'cancelled' | 'denied' | 'malformed'; note: string | null };

/** The field the form asks for: approve or deny, nothing else counts as an approval. */
export const DECISION_FIELD = 'decision';
const NOTE_FIELD = 'note';

/** Reads a reply: only `accept` with `decision: "approve"` approves; anything else denies (closed). */
export function readAnswer(reply: unknown): ClientDecision {
  if (!isObject(reply)) return { decision: 'deny', why: 'malformed', note: null };
  const content = isObject(reply.content) ? reply.content : undefined;
  const rawNote = content?.[NOTE_FIELD];
  const note = typeof rawNote === 'string' && rawNote.trim() !== '' ? rawNote.trim().slice(0, 2000) : null;
  if (reply.action === 'decline') return { decision: 'deny', why: 'declined', note };
  if (reply.action === 'cancel') return { decision: 'deny', why: 'cancelled', note };
  if (reply.action !== 'accept' || !content) return { decision: 'deny', why: 'malformed', note };
  const decision = content[DECISION_FIELD];
  if (decision === 'approve') return { decision: 'approve', note };
  if (decision === 'deny') return { decision: 'deny', why: 'denied', note };
  return { decision: 'deny', why: 'malformed', note };
}

/** What the question names: the call, where it goes, who asks, and the policy's words. */
export interface ApprovalQuestion {
  approvalId: string;
  agent: string | null;
  server: string | null;
  kind: 'tool' | 'resource' | 'prompt';
  tool: string;
  rule: string | null;
  reason: string;
  /** The arguments as a reviewer may see them (secrets masked), or undefined when nothing can mask them. */
  shownArgs: unknown;
  /** When the approval expires (ms since the epoch). */
  expiresAt: number;
}

const MAX_ARGS_CHARS = 4_000;

/** The form: a message saying what is asked and why, one required approve/deny choice and an optional note. */
export function approvalElicitation(q: ApprovalQuestion): ElicitRequest {
  const what =
    q.kind === 'tool'
      ? `call the tool "${q.tool}"`
      : `${q.kind === 'resource' ? 'read the resource' : 'get the prompt'} "${q.tool}"`;
  const lines = [
    `Portcullis asks you to approve a request (approval ${q.approvalId}).`,
    `Agent ${q.agent ?? '(unknown)'} wants to ${what} on server ${q.server ?? '(unknown)'}.`,
    `Policy rule ${q.rule ? `"${q.rule}"` : '(none)'} sends it to review: ${q.reason}`,
    `Arguments${q.shownArgs === undefined ? ': not shown here (no redactor); see the approvals UI' : ` (secrets masked):\n${argsText(q.shownArgs)}`}`,
    `Approve runs it once, exactly as shown. Deny, decline or cancel runs nothing. Unanswered, it expires at ${new Date(q.expiresAt).toISOString()}.`,
  ];
  return {
    message: lines.join('\n'),
    requestedSchema: {
      type: 'object',
      properties: {
        [DECISION_FIELD]: {
          type: 'string',
          title: 'Decision',
          description: 'approve runs this one call once; deny runs nothing',
          enum: ['approve', 'deny'],
          enumNames: ['Approve', 'Deny'],
        },
        [NOTE_FIELD]: {
          type: 'string',
          title: 'Note',
          description: 'Why (optional, kept in the audit log)',
          maxLength: 2000,
        },
      },
      required: [DECISION_FIELD],
    },
  };
}

function argsText(args: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(args ?? {}, null, 2);
  } catch (error) {
    text = `(cannot show: ${errorText(error)})`;
  }
  return text.length > MAX_ARGS_CHARS
    ? `${text.slice(0, MAX_ARGS_CHARS)}\n… (truncated; the approvals UI shows all)`
    : text;
}
