// A held definition against its pin, as a unified diff of their pretty JSON: what a person reads before accepting.
import { createTwoFilesPatch } from 'diff';
import { canonicalJson } from '../util/index.js';
import type { PinnedDefinition } from './definition.js';

/** Pretty JSON with keys sorted (canonical JSON, re-indented), so a diff shows what changed and not how the server ordered it. */
function pretty(definition: PinnedDefinition | undefined): string {
  if (definition === undefined) return '';
  return `${JSON.stringify(JSON.parse(canonicalJson(definition)), null, 2)}\n`;
}

/**
 * The unified diff from the pinned definition (none: a tool that appeared later) to the held one.
 * JSON keeps invisible, bidi and tag characters as they are, so they are spelled out here as
 * `\u{...}`: otherwise the diff would hide exactly what a person must see.
 */
export function definitionDiff(
  label: string,
  pinned: PinnedDefinition | undefined,
  held: PinnedDefinition,
): string {
  const visible = (text: string): string =>
    text.replace(
      /[\u00AD\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]|[\u{E0000}-\u{E007F}]/gu,
      (ch) => `\\u{${(ch.codePointAt(0) as number).toString(16).toUpperCase()}}`,
    );
  return createTwoFilesPatch(
    `${label} (pinned)`,
    `${label} (now listed)`,
    visible(pretty(pinned)),
    visible(pretty(held)),
    undefined,
    undefined,
    { context: 3 },
  );
}
