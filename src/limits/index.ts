// Limits and budgets at the edge: rate windows and calls in flight in memory, the budgets' ledger in
// governance.db, and the LimitsPart the Governance asks (the decisions themselves are src/policy's).
export { type Booking, BudgetLedger, LedgerError } from './ledger.js';
export { Limits, type LimitsOptions } from './limits.js';
export { MAX_RATE_KEYS } from './windows.js';
