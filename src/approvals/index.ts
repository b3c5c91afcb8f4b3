// Approvals: the SQLite store and the queue that settles calls a person must decide.
export { callKey, canonicalArgs, sha256Hex } from './canonical.js';
export {
  ApprovalQueue,
  type ApprovalQueueOptions,
  DEFAULT_APPROVAL_SETTINGS,
  type QueueChange,
} from './queue.js';
export { queueReviewHandler, verdictOf } from './review-handler.js';
export { type Admission, ApprovalStore, type ApprovalStoreOptions, type ListOptions } from './store.js';
export * from './types.js';
