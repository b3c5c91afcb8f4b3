// Redaction of secret-looking values before they reach the audit file, with a keyed HMAC so equal
// secrets can still be correlated across records without being revealed.
import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { canonicalJson } from './chain.js';
import { describeError } from './disk.js';

/**
 * Keys whose values are always redacted, at any depth (case-insensitive, matched anywhere in the
 * key): passwords, tokens, secrets, API and private keys, authorization headers, cookies,
 * credentials, session ids. Broad on purpose: a redacted harmless value costs little.
 */
export const DEFAULT_REDACT_PATTERN =
  /passw(?:or)?d|passphrase|^pass$|^pwd$|secret|token|api[-_]?key|authori[sz]ation|^auth$|cookie|private[-_]?key|credential|session[-_]?(?:id|key)|access[-_]?key|signature/i;

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

export class Redactor {
  readonly #key: Buffer;
  #extra: RegExp[];

  constructor(key: Buffer, extraPatterns: readonly string[] = []) {
    this.#key = key;
    this.#extra = compileRedactPatterns(extraPatterns);
  }

  /** Replaces the extra patterns (e.g. after a policy reload); throws RedactPatternError. */
  setPatterns(patterns: readonly string[]): void {
    this.#extra = compileRedactPatterns(patterns);
  }

  isSecretKey(key: string): boolean {
    if (DEFAULT_REDACT_PATTERN.test(key)) return true;
    for (const pattern of this.#extra) if (pattern.test(key)) return true;
    return false;
  }

  /** `[redacted] hmac-sha256:<hex>` of the value's canonical JSON (so 12 and "12" differ). */
  mask(value: unknown): string {
    const mac = createHmac('sha256', this.#key).update(canonicalJson(value)).digest('hex');
    return `${REDACTED_PREFIX}${mac}`;
  }

  /** A copy of `value` with every secret-looking key's value masked; the input is not changed. */
  redact(value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map((item) => this.redact(item));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      setField(out, key, item !== undefined && this.isSecretKey(key) ? this.mask(item) : this.redact(item));
    }
    return out;
  }
}

/**
 * `target[key] = value` as an own field, even for `__proto__`: assigning that would set the
 * prototype instead and drop the field from the record, so the log would show less than was sent.
 */
export function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

const KEY_BYTES = 32;

/**
 * Reads the HMAC key (64 hex characters), creating it with mode 0600 when it does not exist yet.
 * Creation is exclusive, so two processes starting at once end up with the same key.
 */
export function loadOrCreateHmacKey(path: string): Buffer {
  const existing = readKey(path);
  if (existing) return existing;
  // Written to a private temporary file and linked into place: link() never replaces an existing
  // key, and a concurrent reader never sees a half-written one.
  const hex = randomBytes(KEY_BYTES).toString('hex');
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, `${hex}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new AuditKeyError(`cannot create audit HMAC key ${path}: ${describeError(error)}`, {
        cause: error,
      });
    }
  } finally {
    rmSync(temporary, { force: true });
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
