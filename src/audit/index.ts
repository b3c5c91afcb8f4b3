// The audit log's public surface, all that code outside src/audit uses: open a log and append
// events; query, tail and verify what was written; the record types; the redactor the approval
// pages share. Files, the chain format, segments, recovery and writer slots stay internal.
export { recordLine } from './chain.js';
export { AuditPathError, auditTarget } from './locate.js';
export { AuditLog, type AuditLogOptions, type AuditObservation, type ChainBreakProblem } from './log.js';
export {
  type AuditPage,
  type AuditQuery,
  AuditQueryError,
  parseAuditCursor,
  queryAudit,
} from './query.js';
export { AuditKeyError, REDACTED_PREFIX, Redactor, RedactPatternError } from './redact.js';
export { type ChainRecord, type TailOptions, tailAudit } from './tail.js';
export * from './types.js';
export {
  type VerifyChain,
  type VerifyFailure,
  type VerifyOk,
  type VerifyProblem,
  type VerifyResult,
  verifyAudit,
} from './verify.js';
