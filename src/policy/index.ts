// The policy engine's public face: load, evaluate, explain, migrate. Pure: no I/O, no clock.
export {
  DEFAULT_APPROVAL,
  DEFAULT_FLOW,
  DEFAULT_INPUT_SCHEMA,
  DEFAULT_RESULTS,
  DEFAULT_SESSIONS,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
} from './compile.js';
export { containmentChecks, filesystemDirectories, type PathCheck, rootProblem } from './containment.js';
export { durationMs } from './duration.js';
export { JsonInputError, jsonEqual, parseJsonStrict } from './json.js';
export {
  type AppliedLimits,
  type Budget,
  type CompiledLimits,
  type ConcurrencyLimit,
  judgeLimits,
  type LimitBreach,
  type LimitJudgement,
  type LimitPhase,
  type LimitState,
  type LimitSubject,
  parseRate,
  type RateLimit,
} from './limits.js';
export { formatProblem, type LoadResult, loadPolicy, type PolicyProblem, sha256Hex } from './load.js';
export { migrateV1 } from './migrate.js';
export { type PolicyTestResult, runPolicyTests } from './run-tests.js';
export { publishedSchema } from './schema.js';
export { remotePlainHttpHost } from './transport.js';
export * from './types.js';
export { MAX_URI_LENGTH, type NormalUri, normalizeResourceUri } from './uris.js';
