// Reading what upstreams say to the model (tool definitions, results) for content aimed at it instead of the user: pure, flags only.
export {
  type HiddenFinding,
  type HiddenKind,
  inspectText,
  inspectTool,
  inspectValue,
  type ToolDefinition,
} from './hidden-content.js';
export { findInstructions, type InstructionFinding, instructionKinds } from './instructions.js';
