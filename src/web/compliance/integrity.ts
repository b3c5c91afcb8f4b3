// The audit chains' verification for the compliance score, cached: verifying reads the whole log, so not on every page view.
import { verifyAudit } from '../../audit/index.js';
import type { Integrity } from './numbers.js';

const DEFAULT_TTL_MS = 10 * 60_000;

export function auditIntegrity(
  dir: string,
  options: { ttlMs?: number; now?: () => number } = {},
): () => Promise<Integrity> {
  const now = options.now ?? Date.now;
  const ttl = options.ttlMs ?? DEFAULT_TTL_MS;
  let last: { at: number; result: Promise<Integrity> } | undefined;
  return () => {
    const at = now();
    if (last && at - last.at < ttl) return last.result;
    const result = verifyAudit(dir).then(
      (verified): Integrity =>
        verified.ok
          ? {
              state: 'verified',
              checked_at: new Date(at).toISOString(),
              detail: `${verified.records} records in ${verified.chains} chain(s)`,
            }
          : { state: 'failed', checked_at: new Date(at).toISOString(), detail: verified.message },
      (error: unknown): Integrity => ({
        state: 'unknown',
        checked_at: new Date(at).toISOString(),
        detail: `could not verify: ${(error as Error).message}`,
      }),
    );
    last = { at, result };
    return result;
  };
}
