// The UI's static files (hand-written CSS and the live-update script) from the package's ui/ folder.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebConfigError } from './auth.js';

export interface Asset {
  body: string;
  type: string;
}

const FILES: Record<string, string> = {
  'app.css': 'text/css; charset=utf-8',
  'queue.js': 'text/javascript; charset=utf-8',
  'links.js': 'text/javascript; charset=utf-8',
  'notify.js': 'text/javascript; charset=utf-8',
};

/** ui/ sits at the package root: two levels above src/web, three above dist/src/web. */
export function findUiDir(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'ui');
    if (existsSync(join(candidate, 'app.css'))) return candidate;
    dir = dirname(dir);
  }
  throw new WebConfigError(`cannot find the ui/ folder above ${from}`);
}

/** Read once at start: a fixed set, so no request path ever reaches the file system. */
export function loadAssets(uiDir = findUiDir()): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    assets.set(name, { body: readFileSync(join(uiDir, name), 'utf8'), type });
  }
  return assets;
}
