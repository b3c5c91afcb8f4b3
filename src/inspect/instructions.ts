// Instruction-like text in what a tool returns ("ignore previous instructions", "do not tell the user"): flagged, never changed.
import { pointer } from '../secrets/index.js';

/** One phrase family that reads as orders to the model rather than data for it. */
interface InstructionPattern {
  id: string;
  pattern: RegExp;
}

/**
 * Phrases from published tool-poisoning and prompt-injection examples, each narrow enough that
 * ordinary tool documentation does not use it (measured over server-everything's and
 * server-filesystem's tool descriptions: tests/inspect/instructions.test.ts). Flag-only: a result
 * that quotes an attack (a security blog, this file) is flagged too, which is why nothing is blocked.
 */
const PATTERNS: readonly InstructionPattern[] = [
  {
    id: 'override-instructions',
    pattern:
      /\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:(?:of\s+)?(?:the|your|my)\s+)?(?:previous|prior|above|earlier|preceding|original|system)\s+(?:instructions?|prompts?|rules|directions|guidelines|messages)\b/i,
  },
  {
    id: 'hide-from-user',
    pattern:
      /\b(?:do\s+not|don'?t|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?(?:\s+(?:this|it|that))?\s+to|reveal(?:ing)?(?:\s+(?:this|it|that))?\s+to|show(?:ing)?(?:\s+(?:this|it|that))?\s+to|alert(?:ing)?|notify(?:ing)?|let(?:ting)?)\s+the\s+user\b/i,
  },
  {
    id: 'hide-from-user',
    pattern: /\bkeep\s+(?:this|it|these)\s+(?:secret|hidden|confidential)\s+from\s+the\s+user\b/i,
  },
  {
    id: 'hide-from-user',
    pattern:
      /\b(?:do\s+not|don['’]t|never)\s+(?:tell|inform|mention|notify|alert|reveal|show|disclose)\b[^.\n]{0,40}\buser\b/i,
  },
  { id: 'hide-from-user', pattern: /\bthe\s+user\s+(?:must|should)\s+not\s+(?:know|see|be\s+told)\b/i },
  {
    id: 'covert-action',
    pattern:
      /\b(?:secretly|covertly|silently|quietly)\s+(?:send|read|upload|forward|include|exfiltrate|call|copy|pass)\b/i,
  },
  { id: 'role-override', pattern: /\b(?:this|these)\s+(?:is|are)\s+(?:your\s+)?new\s+instructions\b/i },
  {
    id: 'role-override',
    pattern: /\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you\s+(?:are|will|must))\b|\bnew\s+system\s+prompt\b/i,
  },
  { id: 'fake-system-tag', pattern: /<\/?(?:important|system|instructions?|sys)>|\[\/?(?:system|inst)\]/i },
  {
    id: 'exfiltrate-files',
    pattern:
      /\b(?:read|send|upload|include|pass|attach|cat)\b[^\0\n]{0,80}(?:~\/\.ssh|id_rsa|id_ed25519|\.aws\/credentials|mcp\.json|\.env\b|\/etc\/shadow)/i,
  },
];

/** Where instruction-like text sits in a value: a JSON Pointer and the phrase families found. */
export interface InstructionFinding {
  pointer: string;
  /** Sorted unique pattern ids joined by `+`. */
  detector: string;
}

/** The pattern ids that match `text`, sorted and unique. */
export function instructionKinds(text: string): string[] {
  const kinds = new Set<string>();
  for (const { id, pattern } of PATTERNS) if (pattern.test(text)) kinds.add(id);
  return [...kinds].sort();
}

/** Every string at any depth of `value` that reads as instructions; `skip` leaves binary payloads out. */
export function findInstructions(
  value: unknown,
  skip?: (path: readonly (string | number)[]) => boolean,
): InstructionFinding[] {
  const found: InstructionFinding[] = [];
  const path: (string | number)[] = [];
  const visit = (item: unknown): void => {
    if (typeof item === 'string') {
      if (item.length < 8 || skip?.(path)) return;
      const kinds = instructionKinds(item);
      if (kinds.length > 0) found.push({ pointer: pointer(path), detector: kinds.join('+') });
      return;
    }
    if (typeof item !== 'object' || item === null) return;
    const entries = Array.isArray(item) ? item.entries() : Object.entries(item);
    for (const [key, child] of entries) {
      path.push(key);
      visit(child);
      path.pop();
    }
  };
  visit(value);
  return found;
}
