// The compliance numbers (audit log, approvals, policy, agents, incidents) and the score the Compliance page shows.
export { auditIntegrity } from './integrity.js';
export {
  AGE_BINS,
  type ComplianceReport,
  type ComplianceSources,
  ComplianceWindowError,
  complianceReport,
  DEFAULT_MAX_RECORDS,
  DEFAULT_WINDOW,
  type Integrity,
  parseWindow,
  WINDOWS,
  type WindowName,
} from './numbers.js';
export * from './score.js';
