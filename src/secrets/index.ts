// Secrets in tool arguments and audit records: which keys name one, which strings hold one, and masking both.
export { DETECTORS, type Detector, type Finding } from './detectors.js';
export { foldKey, keyTokens, looksSecret, namesSecret } from './names.js';
export { pointer, resolvePointer } from './pointer.js';
export { type Redaction, type RedactMode, type RedactOptions, redact, setField } from './redact.js';
export { ALL_DETECTORS, findSecrets, MIN_SCANNED_LENGTH, maskSpans } from './scan.js';
export { SECRETLINT } from './secretlint.js';
export { findLoneSurrogate, hasLoneSurrogate, toWellFormed } from './unicode.js';
export {
  KEY_NAME_DETECTOR,
  scanValue,
  type ValueFinding,
  type ValueScan,
  type ValueScanOptions,
} from './value-scan.js';
