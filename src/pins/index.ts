// Tool-definition pinning: what a pin covers, trust on first use as a pure judgement, and the pin files in the data dir.
export { decideHeld, type HeldDecision, type PinAudit, pinnedFile, resetPins } from './decide.js';
export { definitionHash, type PinnedDefinition, pinnedPart } from './definition.js';
export { definitionDiff } from './diff.js';
export { PinGuard, type PinGuardDeps } from './guard.js';
export {
  acceptHeld,
  type HeldEntry,
  type Judgement,
  type JudgeOptions,
  judgeListing,
  PinDecisionError,
  type PinEntry,
  type PinFile,
  type PinState,
  rejectHeld,
  type ToolTrust,
} from './judge.js';
export { PinStore } from './store.js';
