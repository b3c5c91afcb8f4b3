// Sensitive data flow: per agent, hashes of what sensitive results held, and the check that a later call carries one elsewhere.
export { MAX_ARGUMENT_DEPTH, MAX_FORMS_PER_RESULT, normalize } from './forms.js';
export {
  ageText,
  FLOW_LIMITS,
  type FlowFinding,
  type FlowLimits,
  FlowMemory,
  type FlowMemoryOptions,
  type FlowSource,
  failedFlowCheck,
  flowReason,
} from './memory.js';
