// What limits use of other folders, in one place.
export type { BudgetUsage, LimitsPart } from '../governance/index.js';
export {
  type AppliedLimits,
  type CompiledPolicy,
  type Decision,
  judgeLimits,
  type LimitState,
  type RateLimit,
} from '../policy/index.js';
export type { Admission, GovernedCall } from '../proxy/index.js';
export { GOVERNANCE_DB, migrateModule, openSqlite, type SqliteDatabase } from '../util/index.js';
