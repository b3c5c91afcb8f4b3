// Approvals: the SQLite store and the queue that settles calls a person must decide.
export { callKey, canonicalArgs } from './canonical.js';
export { decodeCursor, encodeCursor, orderOf } from './paging.js';
export {
  ApprovalQueue,
  type ApprovalQueueOptions,
  DEFAULT_APPROVAL_SETTINGS,
  type QueueChange,
  refusalReason,
} from './queue.js';
export {
  type Admission,
  type AdmitLimits,
  ApprovalStore,
  type ApprovalStoreOptions,
  type ListOptions,
  PAGE_LIMIT_MAX,
  type PageOptions,
} from './store.js';
export * from './types.js';
