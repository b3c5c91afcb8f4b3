// SHA-256 as lower-case hex, the one digest Portcullis computes (pure: no I/O).
import crypto, { createHash } from 'node:crypto';

// crypto.hash (Node >= 20.12) is the one-shot form: a third cheaper than createHash, which matters
// for the audit chain (one digest per record). Older Node 20 releases fall back to createHash.
const oneShotHash = (crypto as { hash?: typeof crypto.hash }).hash;

/** SHA-256 of `data` (a string is hashed as UTF-8), as 64 lower-case hex characters. */
export function sha256Hex(data: string | Buffer): string {
  if (oneShotHash) return oneShotHash('sha256', data, 'hex');
  return createHash('sha256').update(data).digest('hex');
}
