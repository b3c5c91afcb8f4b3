// Agent keys: generated here, shown to a person once, and kept only as their SHA-256.
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../util/index.js';

/** What every registry key starts with, so a leaked one is recognised (and secret scanners can match it). */
export const KEY_PREFIX = 'pcl_';

/** How much of a key is kept for a person to recognise it by: the prefix and 6 characters (36 bits of 256). */
const SHOWN = KEY_PREFIX.length + 6;

export interface NewKey {
  /** The key itself: printed once, never stored. */
  key: string;
  sha256: string;
  prefix: string;
}

export function sha256Key(key: string): string {
  return sha256Hex(key);
}

/** 32 random bytes, base64url, behind `pcl_`. */
export function generateKey(): NewKey {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, sha256: sha256Key(key), prefix: key.slice(0, SHOWN) };
}

/** A key's id (`key_` and 12 hex digits): what the CLI, API and page name a key by. */
export function newKeyId(): string {
  return `key_${randomBytes(6).toString('hex')}`;
}
