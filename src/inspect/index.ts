// Reading what upstreams say for content aimed at the model instead of the user: flags, never changes.
export { findInstructions, type InstructionFinding, instructionKinds } from './instructions.js';
