// Reviewer credentials: personal tokens (kept as SHA-256) and passwords (kept as a slow scrypt hash).
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { ReviewerError } from './errors.js';

/** Personal tokens carry a prefix so sign-in tells them from the admin token without trying both. */
export const TOKEN_PREFIX = 'pcr_';
export const MIN_PASSWORD_LENGTH = 12;
/** A password longer than this is refused before hashing: scrypt's cost must not be the caller's to choose. */
export const MAX_PASSWORD_LENGTH = 1024;

const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
// scrypt needs 128·N·r bytes (32 MiB here); node's default ceiling is exactly that, so leave room.
const MAX_MEM = 64 * 1024 * 1024;

export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function looksLikeToken(text: string): boolean {
  return text.startsWith(TOKEN_PREFIX) && text.length <= 200;
}

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N: n, r, p, maxmem: MAX_MEM }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export function checkPasswordStrength(password: string): void {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
    throw new ReviewerError(
      'E_REVIEWER_WEAK_PASSWORD',
      `a password needs at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new ReviewerError(
      'E_REVIEWER_WEAK_PASSWORD',
      `a password has at most ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
}

/** `scrypt$N$r$p$salt$hash` (salt and hash in base64url): the parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  checkPasswordStrength(password);
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** A stored hash nobody's password matches: checked for unknown names so timing does not say which names exist. */
export const UNUSABLE_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEY_LENGTH).toString('base64url')}`;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD_LENGTH)
    return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Only the parameters this version writes: a tampered row must not make sign-in cost a minute.
  if (n !== N || r !== R || p !== P) return false;
  const salt = Buffer.from(parts[4] as string, 'base64url');
  const expected = Buffer.from(parts[5] as string, 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  const key = await derive(password, salt, n, r, p);
  return timingSafeEqual(key, expected);
}
