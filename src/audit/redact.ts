// Redaction of secrets before they reach the audit file (and the approval pages), with a keyed HMAC
// so equal secrets can still be correlated across records without being revealed.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  foldKey,
  looksSecret,
  type Redaction,
  type RedactMode,
  type RedactOptions,
  redact as redactValue,
} from '../secrets/index.js';
import { canonicalJson, createSecretFile } from '../util/index.js';
import { describeError } from './disk.js';

/** The redacted form of a value: a fixed marker plus HMAC-SHA256 (hex) of its canonical JSON. */
export const REDACTED_PREFIX = '[redacted] hmac-sha256:';

export class RedactPatternError extends Error {
  readonly code = 'E_AUDIT_REDACT_PATTERN';
}

export class AuditKeyError extends Error {
  readonly code = 'E_AUDIT_KEY';
}

/** Compiles extra key patterns (strings, case-insensitive regular expressions). */
export function compileRedactPatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((pattern) => {
    try {
      return new RegExp(pattern, 'i');
    } catch (error) {
      throw new RedactPatternError(`invalid redact pattern ${JSON.stringify(pattern)}`, { cause: error });
    }
  });
}

/**
 * Masks secrets with a keyed HMAC, two ways (src/secrets/redact.ts): `redact` for the audit log
 * (broad: any key holding a secret's word, credentials found inside strings) and `review` for what
 * a reviewer is shown (only keys that name a secret, and the same credentials inside strings).
 * Both use the same HMAC, so a value masked on a page matches the audit log's record of it.
 */
export class Redactor {
  readonly #key: Buffer;
  #extra: RegExp[];
  readonly #mask = (value: unknown): string => this.mask(value);
  readonly #extraKey = (key: string, folded: string): boolean => {
    for (const pattern of this.#extra) if (pattern.test(key) || pattern.test(folded)) return true;
    return false;
  };

  constructor(key: Buffer, extraPatterns: readonly string[] = []) {
    this.#key = key;
    this.#extra = compileRedactPatterns(extraPatterns);
  }

  /** Replaces the extra patterns (e.g. after a policy reload); throws RedactPatternError. */
  setPatterns(patterns: readonly string[]): void {
    this.#extra = compileRedactPatterns(patterns);
  }

  /** The audit log's test of a key (see looksSecret), plus the extra patterns. */
  isSecretKey(key: string): boolean {
    return looksSecret(key) || this.#extraKey(key, foldKey(key));
  }

  /** `[redacted] hmac-sha256:<hex>` of the value's canonical JSON (so 12 and "12" differ). */
  mask(value: unknown): string {
    const mac = createHmac('sha256', this.#key).update(canonicalJson(value)).digest('hex');
    return `${REDACTED_PREFIX}${mac}`;
  }

  /** A copy of `value` masked as the audit log stores it; the input is not changed. */
  redact(value: unknown): unknown {
    return this.redaction(value, 'audit').value;
  }

  /** What a reviewer is shown of `value`, with the JSON Pointer of every masked value. */
  review(value: unknown): Redaction {
    return this.redaction(value, 'review');
  }

  /** The full redaction: the masked copy, where it masked, and (wellFormed) where it replaced lone surrogates. */
  redaction(
    value: unknown,
    mode: RedactMode,
    more: Pick<RedactOptions, 'plainTopLevel' | 'wellFormed'> = {},
  ): Redaction {
    return redactValue(value, {
      mode,
      mask: this.#mask,
      extraSecretKey: this.#extra.length > 0 ? this.#extraKey : undefined,
      ...more,
    });
  }
}

export { setField } from '../secrets/index.js';

const KEY_BYTES = 32;

/**
 * Reads the HMAC key (64 hex characters), creating it with mode 0600 when it does not exist yet.
 * Creation is exclusive, so two processes starting at once end up with the same key.
 */
export function loadOrCreateHmacKey(path: string): Buffer {
  const existing = readKey(path);
  if (existing) return existing;
  // createSecretFile never replaces a key another process created first: both then read that one.
  try {
    createSecretFile(path, `${randomBytes(KEY_BYTES).toString('hex')}\n`);
  } catch (error) {
    throw new AuditKeyError(`cannot create audit HMAC key ${path}: ${describeError(error)}`, {
      cause: error,
    });
  }
  const key = readKey(path);
  if (!key) throw new AuditKeyError(`audit HMAC key ${path} is missing`);
  return key;
}

function readKey(path: string): Buffer | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AuditKeyError(`cannot read audit HMAC key ${path}: ${describeError(error)}`, { cause: error });
  }
  const hex = text.trim();
  if (!/^[0-9a-f]{64,}$/i.test(hex) || hex.length % 2 !== 0) {
    throw new AuditKeyError(`audit HMAC key ${path} is not at least 32 bytes of hex`);
  }
  return Buffer.from(hex, 'hex');
}
