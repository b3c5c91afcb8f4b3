// What a tool's pin covers: the parts of its definition a model reads, hashed over their canonical JSON.
import type { ToolDefinition } from '../inspect/index.js';
import { canonicalJson, sha256Hex } from '../util/index.js';

/** The fields of a listed tool that make up its definition, the ones a model reads (anything else the server sends is not pinned). */
export type PinnedDefinition = ToolDefinition;

const FIELDS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

/** The definition with only the pinned fields (absent ones left out, so `{}` and no field differ from none). */
export function pinnedPart(tool: PinnedDefinition & Record<string, unknown>): PinnedDefinition {
  const part: Record<string, unknown> = {};
  for (const field of FIELDS) if (tool[field] !== undefined) part[field] = tool[field];
  return part as unknown as PinnedDefinition;
}

/** `sha256:<hex>` of the canonical JSON (RFC 8785) of the pinned fields: key order and spacing never matter. */
export function definitionHash(tool: PinnedDefinition & Record<string, unknown>): string {
  return `sha256:${sha256Hex(canonicalJson(pinnedPart(tool)))}`;
}
