// Standing grants (issue 13): a reviewer's "approve, and allow calls like this for a while".
export { covers, describeConstraint, describeConstraints, keyOf, pointerOf } from './constraints.js';
export { durationText, type GrantChoice, Grants, type GrantsOptions, grantSummary } from './grants.js';
export { grantJson } from './json.js';
export { type GrantScope, GrantStore } from './store.js';
export * from './types.js';
