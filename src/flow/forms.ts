// What of a sensitive result is worth remembering (values, secret-like tokens, their encodings), and the texts of arguments to look in.
import { findSecrets, namesSecret } from '../secrets/index.js';

/**
 * The one form both sides are compared in: case folded (a hex or base64 secret retyped in capitals
 * is the same secret) and whitespace removed (a value split by spaces or line breaks still matches).
 */
export function normalize(text: string): string {
  return text.toLowerCase().replace(/\s+/gu, '');
}

/** Coarse tokens: what separates words and fields in text, JSON, shell and code. */
const COARSE = /[\s"'`,;(){}[\]<>|]+/u;
/** Fine tokens: also what separates a URL's, a header's or an assignment's parts (`k=v`, `user:pass@host`). */
const FINE = /[\s"'`,;(){}[\]<>|=:&?#@/\\]+/u;

/**
 * A plain word (`password`, `database_url`, `Hostname`) is what a result is made of, not a secret:
 * remembering it would hold every later call that mentions it. Digits, other symbols or inner capitals
 * (`hunter2`, `s3cr3t.v4lue`, `MySecretPass`) make a token worth remembering.
 */
function plainWord(text: string): boolean {
  return /^[A-Za-z_-]+$/u.test(text) && !/[a-z][A-Z]/u.test(text);
}

/** Most forms one result adds: a huge result must not flush what an agent read before. */
export const MAX_FORMS_PER_RESULT = 1024;

interface Leaf {
  text: string;
  /** Under a key that names a secret (`password`, `api_key`): remembered whole even if it is a word. */
  named: boolean;
}

function leaves(value: unknown): Leaf[] {
  const out: Leaf[] = [];
  const visit = (item: unknown, named: boolean, depth: number): void => {
    if (typeof item === 'string') out.push({ text: item, named });
    // An account or card number may come as a JSON number: searched for as its decimal text.
    else if (typeof item === 'number') out.push({ text: String(item), named });
    else if (depth > 64 || typeof item !== 'object' || item === null) return;
    else if (Array.isArray(item)) for (const x of item) visit(x, named, depth + 1);
    else
      for (const [k, v] of Object.entries(item as Record<string, unknown>))
        visit(v, namesSecret(k), depth + 1);
  };
  visit(value, false, 0);
  return out;
}

function encodings(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const out = [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')];
  const url = encodeURIComponent(text);
  if (url !== text) out.push(url);
  return out;
}

/**
 * The normalised forms to remember from a result, most telling first (scanner findings, values
 * under secret key names, whole string values, then tokens), then their base64, base64url, hex and
 * URL-encoded forms; at most MAX_FORMS_PER_RESULT, none shorter than `minLength`.
 */
export function sensitiveForms(result: unknown, minLength: number): string[] {
  const all = leaves(result);
  const texts = all.map((l) => l.text);
  const found: string[] = [];
  findSecrets(texts).forEach((spans, i) => {
    for (const span of spans) found.push((texts[i] as string).slice(span.start, span.end));
  });
  const named = all.filter((l) => l.named).map((l) => l.text.trim());
  const whole = texts.map((t) => t.trim()).filter((t) => !plainWord(t));
  const tokens: string[] = [];
  for (const text of texts) {
    for (const split of [COARSE, FINE])
      for (const token of text.split(split))
        if (token.length >= minLength && !plainWord(token)) tokens.push(token);
  }
  const forms = new Set<string>();
  const add = (form: string): void => {
    const n = normalize(form);
    if (n.length >= minLength) forms.add(n);
  };
  // Every value as it is before any encoded form: over the cap, a value is worth more than an encoding.
  const raws = [...new Set([...found, ...named, ...whole, ...tokens])];
  for (const raw of raws) {
    if (forms.size >= MAX_FORMS_PER_RESULT) break;
    add(raw);
  }
  for (const raw of raws) {
    for (const form of encodings(raw)) {
      if (forms.size >= MAX_FORMS_PER_RESULT) return [...forms];
      add(form);
    }
  }
  return [...forms];
}

/** A base64 or base64url run long enough to hide a remembered value. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{12,}={0,2}/gu;

/** No control characters but tab and line breaks, and no replacement character (bytes that were not UTF-8). */
function readable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffd) return false;
  }
  return true;
}

function decodedBase64Runs(text: string): string[] {
  const out: string[] = [];
  for (const run of text.match(BASE64_RUN) ?? []) {
    const decoded = Buffer.from(
      run.replace(/[-_]/gu, (c) => (c === '-' ? '+' : '/')),
      'base64',
    ).toString('utf8');
    // Random bytes are not text anyone carried: only decodings that read as text are looked in.
    if (decoded.length > 0 && readable(decoded)) out.push(decoded);
  }
  return out;
}

function urlDecoded(text: string): string | undefined {
  if (!text.includes('%') && !text.includes('+')) return undefined;
  try {
    const decoded = decodeURIComponent(text.replace(/\+/gu, ' '));
    return decoded === text ? undefined : decoded;
  } catch {
    return undefined;
  }
}

/** Deeper arguments are not walked: the check then fails closed (see FlowMemory.check). */
export const MAX_ARGUMENT_DEPTH = 64;

/**
 * Every text of the arguments to look in, normalised: each string value and key at any depth, and
 * what its URL-encoding and its base64 runs decode to (one level: an encoding of an encoding is not
 * undone). `complete` is false when the arguments nest deeper than MAX_ARGUMENT_DEPTH.
 */
export function argumentTexts(args: unknown): { texts: string[]; complete: boolean } {
  const out: string[] = [];
  let complete = true;
  const add = (text: string): void => {
    out.push(normalize(text));
    const url = urlDecoded(text);
    if (url !== undefined) out.push(normalize(url));
    for (const decoded of decodedBase64Runs(text)) out.push(normalize(decoded));
  };
  const visit = (item: unknown, depth: number): void => {
    if (typeof item === 'string') add(item);
    else if (typeof item === 'number') add(String(item));
    else if (typeof item !== 'object' || item === null) return;
    else if (depth > MAX_ARGUMENT_DEPTH) complete = false;
    else if (Array.isArray(item)) for (const x of item) visit(x, depth + 1);
    else
      for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
        add(k);
        visit(v, depth + 1);
      }
  };
  visit(args, 0);
  return { texts: out, complete };
}
