// Inspecting what upstreams say to the model (tool definitions now; results next): pure, no I/O.
export {
  type HiddenFinding,
  type HiddenKind,
  inspectText,
  inspectTool,
  inspectValue,
  type ToolDefinition,
} from './hidden-content.js';
