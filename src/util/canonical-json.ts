// RFC 8785 canonical JSON, the one serialisation that hashes and "same value" comparisons use.
import canonicalizeModule from 'canonicalize';

type Canonicalize = (input: unknown) => string | undefined;
// The package is CommonJS (`module.exports = fn`) but its types declare an ES default export:
// under NodeNext the default import is the function at run time, `.default` only in the types.
const canonicalize = ((canonicalizeModule as unknown as { default?: Canonicalize }).default ??
  canonicalizeModule) as unknown as Canonicalize;

/** RFC 8785 canonical JSON; throws TypeError for values JSON cannot carry (NaN, BigInt, cycles). */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}
