// Which data dir a UI serves, proved without revealing anything: a second proxy that finds the UI port taken asks before it sends agents there.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecretFile } from '../util/index.js';

const FILE = 'ui-instance.key';
const PROOF_LABEL = 'portcullis ui serves this data dir:';
/** What a challenge may be: enough randomness that an answer cannot be replayed, small enough to refuse junk. */
export const CHALLENGE = /^[0-9a-f]{32,128}$/;

/** The data dir's instance key (`<data-dir>/ui-instance.key`, mode 0600, created once). */
export function instanceKey(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, FILE);
  createSecretFile(file, `${randomBytes(32).toString('hex')}\n`);
  return readFileSync(file, 'utf8').trim();
}

/** The answer to `challenge` only a holder of the same key can give. */
export function instanceProof(key: string, challenge: string): string {
  return createHmac('sha256', key).update(`${PROOF_LABEL}${challenge}`).digest('hex');
}

/**
 * True when the UI at `baseUrl` proves it serves the data dir whose key is `key`; false for another
 * Portcullis (another data dir), an older one, or anything else on that port.
 */
export async function servesDataDir(baseUrl: string, key: string, timeoutMs = 2000): Promise<boolean> {
  const challenge = randomBytes(16).toString('hex');
  try {
    const response = await fetch(`${baseUrl.replace(/\/+$/, '')}/health/instance?challenge=${challenge}`, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    if (!response.ok) return false;
    const body = (await response.json()) as { proof?: unknown };
    if (typeof body.proof !== 'string' || !/^[0-9a-f]{64}$/.test(body.proof)) return false;
    return timingSafeEqual(Buffer.from(body.proof, 'hex'), Buffer.from(instanceProof(key, challenge), 'hex'));
  } catch {
    return false;
  }
}
