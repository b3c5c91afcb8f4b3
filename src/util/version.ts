// The name and version the proxy presents to clients when it speaks for several upstreams, and the CLI prints
// (here, not in proxy/, so the command line can print it without loading the proxy).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version in the package.json this module ships in. It sits two directories up from
 * src/util/ (tsx) and three from dist/src/util/ (built), so look upward for the one naming us.
 */
function packageVersion(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const pkg = text === undefined ? undefined : (JSON.parse(text) as { name?: unknown; version?: unknown });
    if (pkg?.name === 'portcullis' && typeof pkg.version === 'string') return pkg.version;
    if (dirname(dir) === dir) throw new Error(`no package.json of portcullis above ${start}`);
  }
}

/** The one version string: package.json's. */
export const PACKAGE_VERSION = packageVersion();

export const PROXY_INFO = { name: 'portcullis', version: PACKAGE_VERSION } as const;
