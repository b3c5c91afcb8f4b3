// What governance uses of other folders, in one place.
export type { Decision, Trust } from '../policy/index.js';
export type { Admission, DecidedCall, GovernedCall, Governor, Standing } from '../proxy/index.js';
export { unbooked } from '../proxy/index.js';
