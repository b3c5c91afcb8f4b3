// Decisions on resources (read, subscribe) and prompts (get): `kind: resource` and `kind: prompt` rules, first match wins.
import { compileGlobs, literalPrefix } from './glob.js';
import { type CompiledRule, identityMismatch, type Subject } from './rules.js';
import type { RuleDoc } from './schema.js';
import type {
  Access,
  AccessKind,
  CompiledPolicy,
  Decision,
  TemplateAccess,
  TraceStep,
  Trust,
} from './types.js';
import { normalizeResourceUri, normalizeUriGlob } from './uris.js';

export type AccessDefaults = Record<AccessKind, 'allow' | 'deny'>;

/** The kind a rule governs; a rule without `kind` is a tool rule, as every rule was before kinds. */
export function ruleKind(doc: RuleDoc): 'tool' | AccessKind {
  return doc.kind ?? 'tool';
}

/**
 * A resource rule matches the normalised URI: its globs get a lower-case scheme, and deny rules
 * ignore case (a case-insensitive file system opens /ETC/shadow as /etc/shadow) while allow rules
 * match the exact spelling, so a case variant can only ever be denied more, never allowed more.
 */
export function asResourceRule(rule: CompiledRule): CompiledRule {
  const globs = rule.globs.map((g) => normalizeUriGlob(g) ?? g);
  return { ...rule, globs, tool: compileGlobs(globs, rule.decision !== 'allow') };
}

interface AccessInputs {
  rules: Record<AccessKind, readonly CompiledRule[]>;
  defaults: AccessDefaults;
  trustOf(agent: string | undefined): Trust | undefined;
  sha256: string;
}

const NOUN: Record<AccessKind, string> = { resource: 'resource', prompt: 'prompt' };

export function accessDecisions(
  inputs: AccessInputs,
): Pick<CompiledPolicy, 'evaluateAccess' | 'hidesTemplate'> {
  const { rules, defaults, sha256 } = inputs;
  // Without resource rules and with the default allow, nothing reads URIs: everything passes as before.
  const governed = rules.resource.length > 0 || defaults.resource === 'deny';

  const subjectOf = (a: Omit<Access, 'kind' | 'name'>, name: string): Subject => ({
    tool: name,
    server: a.server,
    agent: a.agent,
    trust: a.trust ?? inputs.trustOf(a.agent),
  });

  const evaluateAccess = (access: Access, options?: { explain?: boolean }): Decision => {
    const trace: TraceStep[] | undefined = options?.explain ? [] : undefined;
    const decide = (partial: Omit<Decision, 'policySha256'>): Decision => ({
      ...partial,
      policySha256: sha256,
      ...(trace !== undefined && { trace }),
    });
    let name = access.name;
    if (access.kind === 'resource' && governed) {
      const read = normalizeResourceUri(access.name);
      if (!read.ok)
        return decide({ decision: 'deny', rule: null, reason: `the resource URI ${read.problem}` });
      name = read.uri;
    }
    const subject = subjectOf(access, name);
    for (const rule of rules[access.kind]) {
      const mismatch = identityMismatch(rule, subject);
      if (mismatch !== null) {
        trace?.push({
          rule: rule.id,
          matched: false,
          detail: mismatch.replace(/^tool /, `${NOUN[access.kind]} `),
        });
        continue;
      }
      trace?.push({ rule: rule.id, matched: true, detail: `${rule.decision}: ${rule.reason}` });
      // review goes to the approval queue like a tool call (the gate holds it until a person decides).
      return decide({ decision: rule.decision, rule: rule.id, reason: rule.reason });
    }
    const fallback = defaults[access.kind];
    return decide({
      decision: fallback,
      rule: null,
      reason: `no ${NOUN[access.kind]} rule matched; default_${access.kind}s is ${fallback}`,
    });
  };

  /**
   * Whether every URI a template can expand to is denied, judged on its literal prefix (the text
   * before its first `{`): hidden only when sure. The reads themselves are judged one by one anyway.
   */
  const hidesTemplate = (t: TemplateAccess): boolean => {
    if (!governed) return false;
    const brace = t.template.indexOf('{');
    const read = normalizeResourceUri(brace === -1 ? t.template : t.template.slice(0, brace));
    if (!read.ok) return false;
    const prefix = read.uri;
    if (brace === -1) return evaluateAccess({ ...t, kind: 'resource', name: t.template }).decision === 'deny';
    const subject = subjectOf(t, prefix);
    for (const rule of rules.resource) {
      if (identityMismatch({ ...rule, tool: () => true }, subject) !== null) continue;
      const fold = rule.decision !== 'allow';
      const p = fold ? prefix.toLowerCase() : prefix;
      const covers = rule.globs.some((g) => {
        if (g === '**') return true;
        if (!g.endsWith('/**')) return false;
        const base = g.slice(0, -2);
        return literalPrefix(base) === base && p.startsWith(fold ? base.toLowerCase() : base);
      });
      if (covers) return rule.decision === 'deny';
      const mayMatch = rule.globs.some((g) => {
        const lit = fold ? literalPrefix(g).toLowerCase() : literalPrefix(g);
        return lit.startsWith(p) || p.startsWith(lit);
      });
      if (mayMatch) return false;
    }
    return defaults.resource === 'deny';
  };

  return { evaluateAccess, hidesTemplate };
}
