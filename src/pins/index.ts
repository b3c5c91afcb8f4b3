// Tool-definition pinning: what a pin covers, trust on first use as a pure judgement, and the pin files in the data dir.
export { definitionHash, type PinnedDefinition, pinnedPart } from './definition.js';
export {
  acceptDefinition,
  type Judgement,
  judgeListing,
  type PinEntry,
  type PinFile,
  type PinState,
  type ToolTrust,
} from './judge.js';
export { PinStore } from './store.js';
