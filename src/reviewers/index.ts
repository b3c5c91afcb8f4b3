// Reviewer accounts (issue 13): people who sign in to decide approvals, each counted once by the two-person rule.
export { MIN_PASSWORD_LENGTH, TOKEN_PREFIX } from './credentials.js';
export { ReviewerError, type ReviewerErrorCode } from './errors.js';
export { Reviewers, type ReviewersOptions, type ReviewerView, validName } from './reviewers.js';
export { SqliteReviewerStore, type StoredReviewer } from './store.js';
