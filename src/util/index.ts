// Small helpers every folder may use: hashing, canonical JSON, secret files.
export { canonicalJson } from './canonical-json.js';
export { sha256Hex } from './hash.js';
export { createSecretFile } from './secret-file.js';
