// Small helpers shared by several folders, none of which owns them: hashing, canonical JSON, secret
// files, listening sockets, the Host/Origin guard, the package's version.
export { canonicalJson } from './canonical-json.js';
export { sha256Hex } from './hash.js';
export { type HostGuardOptions, type HostGuardRefusal, hostGuard, hostRefusal } from './host-guard.js';
export {
  LOG_FORMATS,
  type Log,
  type LogFields,
  type LogFormat,
  type LogLevel,
  levelOf,
  lineLog,
} from './log.js';
export { closeServer, isLoopback, isWildcard, listenOn, urlHost } from './net.js';
export { createSecretFile } from './secret-file.js';
export {
  dataVersionReader,
  GOVERNANCE_DB,
  migrateModule,
  openSqlite,
  type SqliteDatabase,
} from './sqlite.js';
export { PACKAGE_VERSION, PROXY_INFO } from './version.js';
