// The audit log's public surface: open a log, append events, query and verify records.
export { canonicalJson, formatLine, GENESIS_HASH } from './chain.js';
export { CHECKPOINT_FILE, type Checkpoint, logFileName } from './files.js';
export {
  AuditLog,
  type AuditLogOptions,
  type ChainBreakProblem,
  DEFAULT_MAX_FILE_BYTES,
  openAuditLog,
} from './log.js';
export {
  type AuditPage,
  type AuditQuery,
  AuditQueryError,
  parseAuditCursor,
  queryAudit,
} from './query.js';
export { AuditKeyError, REDACTED_PREFIX, Redactor, RedactPatternError } from './redact.js';
export * from './types.js';
export {
  type VerifyChain,
  type VerifyFailure,
  type VerifyOk,
  type VerifyProblem,
  type VerifyResult,
  verifyAudit,
} from './verify.js';
export { type Chain, chainDir, listChains, WRITERS_DB, writerSlot } from './writers.js';
