// secretlint's recommended rules (GitHub, npm, Slack, OpenAI, AWS, private keys, database URLs, ...) run as plain functions.
import { rules } from '@secretlint/secretlint-rule-preset-recommend';
import type { Detector, Finding } from './detectors.js';

/**
 * The shape of a secretlint rule as the preset exports it (its own typings point at a package it
 * does not ship). `create` returns `{ file(source) }`, which reports `{ message, range }`.
 */
interface RuleCreator {
  meta: { id: string };
  create(context: RuleContext, options: Record<string, unknown>): { file?(source: RuleSource): unknown };
}
interface RuleContext {
  report(descriptor: { message: string; range: readonly [number, number] }): void;
  ignore(descriptor: unknown): void;
  createTranslator(messages: unknown): (id: string, props?: unknown) => string;
}
interface RuleSource {
  content: string;
  filePath: undefined;
  ext: string;
  contentType: 'text';
}

/**
 * Not run: `filter-comments` lets the scanned text itself switch reporting off
 * (`secretlint-disable`), which an agent could write into its own arguments.
 */
const SKIPPED = new Set(['@secretlint/secretlint-rule-filter-comments']);
/** Options per rule: the AWS rule finds bare access key ids only when asked. */
const OPTIONS: Record<string, Record<string, unknown>> = {
  '@secretlint/secretlint-rule-aws': { enableIDScanRule: true },
};
/**
 * The two costly rules (the AWS rule compiles its pattern on every call) run only when the text
 * holds what every one of their patterns needs, as of 11.7.1: an access key id prefix or the
 * word `secret` (AWS), a `://` (database URLs). tests/secrets/detectors.test.ts checks each still finds its own.
 */
const GATES: Record<string, RegExp> = {
  '@secretlint/secretlint-rule-aws': /A3T|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA|secret/i,
  '@secretlint/secretlint-rule-database-connection-string': /:\/\//,
};
/** Reports that are not credentials: an AWS account id names an account, it grants nothing. */
const NOT_SECRETS = new Set(['AWSAccountID']);

/** `://user:password@` inside a reported URL: only the password is masked, the rest stays readable. */
const USERINFO = /:\/\/[^\s:@/?#"'<>]*:([^\s@/?#"'<>]+)@/d;

/** What a token, key or password is made of, to carry a report's end to the end of its credential. */
const CREDENTIAL_CHAR = /[A-Za-z0-9+/=_.~-]/;

/**
 * Runs every rule's `file()` synchronously against a minimal context: the profiler and config
 * loading of @secretlint/core cost ~130 µs a call and keep every performance mark forever, which a
 * long-running proxy cannot afford. The translator returns the message id, which says what was found.
 */
function loadRules(): Detector {
  let found: Finding[] = [];
  let current = '';
  const context: RuleContext = {
    report({ message, range }) {
      if (NOT_SECRETS.has(message)) return;
      found.push({ start: range[0], end: range[1], detector: current });
    },
    ignore() {},
    createTranslator: () => (id) => id,
  };
  const scanners = (rules as unknown as RuleCreator[])
    .filter((rule) => !SKIPPED.has(rule.meta.id))
    .map((rule) => ({
      id: `secretlint:${rule.meta.id.replace('@secretlint/secretlint-rule-', '')}`,
      gate: GATES[rule.meta.id],
      file: rule.create(context, OPTIONS[rule.meta.id] ?? {}).file,
    }));
  return {
    id: 'secretlint',
    find(text, into) {
      found = [];
      const source: RuleSource = { content: text, filePath: undefined, ext: '', contentType: 'text' };
      for (const scanner of scanners) {
        if (scanner.gate && !scanner.gate.test(text)) continue;
        current = scanner.id;
        // Some rules are async functions that return at once without a file path; nothing to await.
        const result = scanner.file?.(source);
        if (result instanceof Promise) result.catch(() => {});
      }
      for (const finding of found) {
        const userinfo = USERINFO.exec(text.slice(finding.start, finding.end));
        const span = userinfo?.indices?.[1];
        if (span) {
          into.push({
            start: finding.start + span[0],
            end: finding.start + span[1],
            detector: finding.detector,
          });
          continue;
        }
        // A report may end inside the credential (11.7.1's AWS secret key rule gives the key's
        // length from the start of `NAME = `): carry the end to where the credential's characters stop.
        let end = finding.end;
        while (end < text.length && CREDENTIAL_CHAR.test(text[end] as string)) end++;
        into.push({ start: finding.start, end, detector: finding.detector });
      }
    },
  };
}

export const SECRETLINT: Detector = loadRules();
