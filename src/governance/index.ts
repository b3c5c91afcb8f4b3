// Governance: the agent registry, limits and budgets, incidents and suspension, composed into the
// Governor the gate asks (src/proxy/governor.ts).
export { Governance, type GovernanceParts } from './governance.js';
export * from './types.js';
