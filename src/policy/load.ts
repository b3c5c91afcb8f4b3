// Policy text to CompiledPolicy: YAML with source positions, JSON Schema validation, semantic checks, v1 migration.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { compilePolicy, generatedRuleId } from './compile.js';
import { directoryAsStarted, filesystemDirectories, rootProblem } from './containment.js';
import { durationMs } from './duration.js';
import { asList, globProblem, literalPrefix } from './glob.js';
import { generatedLimitId, parseRate } from './limits.js';
import { migrateV1 } from './migrate.js';
import { looksLikePathGlob, pathGlobProblem } from './path-globs.js';
import { parsePath } from './paths.js';
import {
  type PolicyV1Doc,
  PolicyV1Schema,
  type PolicyV2Doc,
  PolicyV2Schema,
  ServerSchema,
} from './schema.js';
import { hostIsLiteral, remotePlainHttpHost } from './transport.js';
import type { CompiledPolicy } from './types.js';
import { normalizeResourceUri, normalizeUriGlob } from './uris.js';

export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  message: string;
  severity: 'error' | 'warning';
}

export type LoadResult =
  | {
      ok: true;
      policy: CompiledPolicy;
      /** The version 2 document the policy was compiled from (migrated when the file was version 1). */
      doc: PolicyV2Doc;
      sourceVersion: 1 | 2;
      warnings: PolicyProblem[];
    }
  | { ok: false; errors: PolicyProblem[]; warnings: PolicyProblem[] };

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

// Not src/util's sha256Hex (node:crypto): src/policy stays pure, with no node: imports at all.
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

type Key = string | number;

let validators: { v1: ValidateFunction; v2: ValidateFunction } | undefined;
function schemaValidators(): { v1: ValidateFunction; v2: ValidateFunction } {
  if (!validators) {
    const ajv = new Ajv({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true });
    validators = { v1: ajv.compile(PolicyV1Schema), v2: ajv.compile(PolicyV2Schema) };
  }
  return validators;
}

/** Collects problems with their position in the YAML source. */
class Problems {
  private readonly found: PolicyProblem[] = [];
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
    private readonly root: unknown,
  ) {}

  at(offset: number, message: string, severity: 'error' | 'warning' = 'error'): void {
    const { line, col } = this.lines.linePos(offset);
    this.found.push({ file: this.file, line, col, message, severity });
  }

  private sorted(severity: 'error' | 'warning'): PolicyProblem[] {
    return this.found.filter((p) => p.severity === severity).sort((a, b) => a.line - b.line || a.col - b.col);
  }
  get errors(): PolicyProblem[] {
    return this.sorted('error');
  }
  get warnings(): PolicyProblem[] {
    return this.sorted('warning');
  }

  /** Reports at the YAML node for a path (or its key when `atKey`), falling back to the nearest ancestor. */
  path(
    path: readonly Key[],
    message: string,
    options: { atKey?: boolean; severity?: 'error' | 'warning' } = {},
  ): void {
    let node: unknown = this.root;
    let offset = rangeStart(node) ?? 0;
    for (const key of path) {
      const pair = isMap(node)
        ? node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key))
        : undefined;
      if (pair && options.atKey && key === path.at(-1)) {
        offset = rangeStart(pair.key) ?? offset;
        break;
      }
      node = pair ? pair.value : isSeq(node) ? node.items[Number(key)] : undefined;
      const start = rangeStart(node);
      if (start === undefined) break;
      offset = start;
    }
    this.at(offset, message, options.severity);
  }
}

function rangeStart(node: unknown): number | undefined {
  return node && typeof node === 'object' && 'range' in node ? (node as Node).range?.[0] : undefined;
}

function displayPath(path: readonly Key[]): string {
  return (
    path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '') ||
    '(top level)'
  );
}

function schemaProblems(validate: ValidateFunction, data: unknown, problems: Problems): void {
  if (validate(data)) return;
  const errors = validate.errors ?? [];
  const unions = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  for (const e of errors) {
    if (unions.some((u) => e.schemaPath.startsWith(u))) continue;
    if (e.keyword === 'anyOf' && e.parentSchema === ServerSchema) serverProblems(e, errors, problems);
    else report(e, instancePath(e), problems);
  }
}

function instancePath(e: ErrorObject): Key[] {
  return e.instancePath
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((k) => (/^\d+$/.test(k) ? Number(k) : k));
}

/**
 * An upstream that fits neither branch of the servers union: its keys say which transport it
 * meant, so the problem is named for that one instead of "must be an upstream".
 */
function serverProblems(union: ErrorObject, errors: readonly ErrorObject[], problems: Problems): void {
  const path = instancePath(union);
  const where = displayPath(path);
  const server = union.data;
  if (typeof server !== 'object' || server === null || Array.isArray(server)) {
    report(union, path, problems);
    return;
  }
  const has = (key: string): boolean => (server as Record<string, unknown>)[key] !== undefined;
  const stdio = has('command');
  if (stdio === has('url')) problems.path(path, `${where}: give exactly one of command or url`);
  else if (!stdio && (has('args') || has('env') || has('cwd')))
    problems.path(path, `${where}: args, env and cwd go with command`);
  else if (stdio && has('headers')) problems.path(path, `${where}: headers go with url`);
  else if (stdio && (has('insecure') || has('ca_file')))
    problems.path(path, `${where}: insecure and ca_file go with url`);
  else {
    const branch = `${union.schemaPath}/${stdio ? 0 : 1}/`;
    for (const e of errors) if (e.schemaPath.startsWith(branch)) report(e, instancePath(e), problems);
  }
}

function report(e: ErrorObject, path: Key[], problems: Problems): void {
  const where = displayPath(path);
  const parent = (e.parentSchema ?? {}) as {
    description?: string;
    anyOf?: { const?: unknown }[];
    patternProperties?: unknown;
  };
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const message = parent.patternProperties
        ? `${where}: "${key}" is not a valid name`
        : `${where}: unknown key "${key}"`;
      problems.path([...path, key], message, { atKey: true });
      return;
    }
    case 'required':
      problems.path(
        path,
        `${where}: missing required key "${(e.params as { missingProperty: string }).missingProperty}"`,
      );
      return;
    case 'anyOf': {
      const consts = parent.anyOf?.every((s) => s.const !== undefined)
        ? parent.anyOf.map((s) => String(s.const))
        : null;
      const expected = parent.description ?? (consts ? `one of ${consts.join(', ')}` : 'of another type');
      problems.path(path, `${where}: must be ${expected}`);
      return;
    }
    case 'const':
      problems.path(
        path,
        `${where}: must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`,
      );
      return;
    case 'pattern':
      problems.path(
        path,
        `${where}: ${parent.description ? `must be ${parent.description}` : `must match ${(e.params as { pattern: string }).pattern}`}`,
      );
      return;
    default:
      problems.path(path, `${where}: ${e.message ?? 'is invalid'}`);
  }
}

/** What the schema cannot say: names, uniqueness, globs, paths and rules that can never match. */
function semanticProblems(doc: PolicyV2Doc, problems: Problems): void {
  serverNameProblems(doc, problems);
  transportProblems(doc, problems);
  rootsProblems(doc, problems);
  agentProblems(doc, problems);
  sessionProblems(doc, problems);
  redactProblems(doc, problems);
  resultProblems(doc, problems);
  pinProblems(doc, problems);
  flowProblems(doc, problems);
  notificationProblems(doc, problems);
  limitProblems(doc, problems);
  incidentProblems(doc, problems);
  reviewProblems(doc, problems);
  const ids = ruleProblems(doc, problems);
  (doc.tests ?? []).forEach((test, i) => {
    if (typeof test.rule === 'string' && !ids.has(test.rule)) {
      problems.path(['tests', i, 'rule'], `tests[${i}]: no rule has the id "${test.rule}"`);
    }
    const what = (['tool', 'resource', 'prompt'] as const).filter((k) => test.call[k] !== undefined);
    if (what.length !== 1)
      problems.path(['tests', i, 'call'], `tests[${i}].call: give exactly one of tool, resource, prompt`);
    else if (what[0] !== 'tool' && test.call.args !== undefined)
      problems.path(['tests', i, 'call', 'args'], `tests[${i}].call.args: only a tool call has arguments`);
  });
}

/**
 * `approvers`, `approve_in` and `grants` say how a review is decided: on a rule that never reviews
 * (deny) they do nothing, said as a warning. Two approvers are two reviewer accounts in the UI, so
 * asking the client (one person, whose client the agent may drive) or a grant would undo the rule.
 */
function reviewProblems(doc: PolicyV2Doc, problems: Problems): void {
  doc.rules.forEach((rule, i) => {
    for (const key of ['approvers', 'approve_in', 'grants'] as const) {
      if (rule[key] !== undefined && rule.decision === 'deny')
        problems.path(
          ['rules', i, key],
          `rules[${i}].${key}: a deny rule's calls are never reviewed, so ${key} does nothing`,
          { atKey: true, severity: 'warning' },
        );
    }
    if (rule.approvers === 2 && rule.approve_in !== undefined && rule.approve_in !== 'ui')
      problems.path(
        ['rules', i, 'approve_in'],
        `rules[${i}].approve_in: approvers: 2 needs two reviewer accounts in the UI, so it cannot be approved in the client (use approve_in: ui or leave it out)`,
        { atKey: true },
      );
    if (rule.approvers === 2 && rule.grants === true)
      problems.path(
        ['rules', i, 'grants'],
        `rules[${i}].grants: a standing grant is one reviewer's word, which approvers: 2 refuses (leave grants out)`,
        { atKey: true },
      );
    if (rule.grants === true && rule.decision === 'allow')
      problems.path(
        ['rules', i, 'grants'],
        `rules[${i}].grants: an allow rule's calls are reviewed only over a cap, and a grant never widens past a cap, so grants does nothing here`,
        { atKey: true, severity: 'warning' },
      );
  });
}

/** A deny rule's calls never run, so its `results:` can never apply: said, so nobody relies on it. */
function resultProblems(doc: PolicyV2Doc, problems: Problems): void {
  doc.rules.forEach((rule, i) => {
    if (rule.results !== undefined && rule.decision === 'deny')
      problems.path(
        ['rules', i, 'results'],
        `rules[${i}].results: a deny rule's calls never run, so their results are never scanned`,
        { atKey: true, severity: 'warning' },
      );
  });
}

/**
 * A pin names one definition, so it sits on a rule of one exact tool name (matched case-insensitively,
 * like the rule). Pins that contradict each other in one server entry could never be satisfied.
 */
function pinProblems(doc: PolicyV2Doc, problems: Problems): void {
  doc.rules.forEach((rule, i) => {
    if (rule.pin === undefined) return;
    const names = asList(rule.match);
    if ((rule.kind ?? 'tool') !== 'tool')
      problems.path(['rules', i, 'pin'], `rules[${i}].pin: only a kind: tool rule can pin a definition`, {
        atKey: true,
      });
    else if (names.length !== 1 || /[*?[\]{}()!+@\\]/.test(names[0] as string))
      problems.path(
        ['rules', i, 'pin'],
        `rules[${i}].pin: a pin is one tool's definition, so match must be one exact tool name (no glob)`,
        { atKey: true },
      );
    if (rule.decision === 'deny')
      problems.path(
        ['rules', i, 'pin'],
        `rules[${i}].pin: a deny rule's tool never runs, so its pin protects nothing`,
        {
          atKey: true,
          severity: 'warning',
        },
      );
  });
  for (const [name, server] of Object.entries(doc.servers ?? {})) {
    const seen = new Map<string, string>();
    for (const [tool, sha256] of Object.entries(server.pin ?? {})) {
      const other = seen.get(tool.toLowerCase());
      if (other !== undefined && other !== sha256)
        problems.path(
          ['servers', name, 'pin', tool],
          `servers.${name}.pin: ${tool} is pinned twice with different hashes (tool names match case-insensitively)`,
          { atKey: true },
        );
      seen.set(tool.toLowerCase(), sha256);
    }
  }
}

/**
 * `sensitive:` marks results the proxy remembers: a deny rule's calls never run (said, as for
 * `results:`), and resource and prompt results are not tracked, which a user must not assume.
 */
function flowProblems(doc: PolicyV2Doc, problems: Problems): void {
  doc.rules.forEach((rule, i) => {
    if (rule.sensitive === undefined) return;
    if ((rule.kind ?? 'tool') !== 'tool')
      problems.path(
        ['rules', i, 'sensitive'],
        `rules[${i}].sensitive: only tool results are tracked; resource and prompt results are not`,
        { atKey: true },
      );
    else if (rule.sensitive && rule.decision === 'deny')
      problems.path(
        ['rules', i, 'sensitive'],
        `rules[${i}].sensitive: a deny rule's calls never run, so there is no result to remember`,
        { atKey: true, severity: 'warning' },
      );
  });
  if (doc.flow?.window !== undefined && durationMs(doc.flow.window) <= 0)
    problems.path(['flow', 'window'], 'flow.window: must be longer than 0');
}

/**
 * Webhooks carry who waits for what to a third party: plain http:// leaves this machine only over
 * TLS (no `insecure:` here: a receiver worth telling can take https), ids name them uniquely in
 * status and metrics, and one without a secret is said to be unsigned. A host written as `${VAR}`
 * is judged once expanded, when the notifier resolves it.
 */
function notificationProblems(doc: PolicyV2Doc, problems: Problems): void {
  const seen = new Set<string>();
  (doc.notifications?.webhooks ?? []).forEach((hook, i) => {
    const at = ['notifications', 'webhooks', i];
    const where = `notifications.webhooks[${i}]`;
    if (seen.has(hook.id))
      problems.path([...at, 'id'], `${where}.id: another webhook has the id "${hook.id}"`);
    seen.add(hook.id);
    const host = hostIsLiteral(hook.url) ? remotePlainHttpHost(hook.url) : undefined;
    if (host !== undefined)
      problems.path(
        [...at, 'url'],
        `${where}.url: plain http:// to ${host}, which is not this machine, would send notifications unencrypted: use https://`,
      );
    if (hook.secret === undefined)
      problems.path(
        at,
        `${where} (${hook.id}): no secret, so its requests are not signed and a receiver cannot tell them from forgeries`,
        { severity: 'warning' },
      );
    if (hook.timeout !== undefined && durationMs(hook.timeout) <= 0)
      problems.path([...at, 'timeout'], `${where}.timeout: must be longer than 0`);
  });
}

/**
 * Limits and budgets share one namespace of ids (a breach names one), each limit is a rate or a
 * number in flight, and every rate, window, glob and amount path must mean something.
 */
function limitProblems(doc: PolicyV2Doc, problems: Problems): void {
  const ids = new Map<string, string>();
  const unique = (id: string, where: string, at: Key[]): void => {
    const earlier = ids.get(id);
    if (earlier !== undefined) problems.path(at, `${where}: duplicate id "${id}" (also ${earlier})`);
    else ids.set(id, where);
  };
  const globs = (entry: Record<string, unknown>, where: string, at: Key[]): void => {
    for (const field of ['agent', 'tool', 'server'] as const) {
      const value = entry[field] as string | string[] | undefined;
      asList(value).forEach((glob, j) => {
        const problem = globProblem(glob);
        if (problem)
          problems.path(
            typeof value === 'string' ? [...at, field] : [...at, field, j],
            `${where}.${field}: ${problem}`,
          );
      });
    }
  };
  (doc.limits ?? []).forEach((limit, i) => {
    const at: Key[] = ['limits', i];
    const where = `limits[${i}]`;
    unique(limit.id ?? generatedLimitId(i), where, limit.id === undefined ? at : [...at, 'id']);
    globs(limit, where, at);
    if ((limit.rate === undefined) === (limit.concurrent === undefined))
      problems.path(
        at,
        `${where}: give exactly one of rate (calls per window) or concurrent (calls at once)`,
      );
    if (limit.rate !== undefined) {
      const rate = parseRate(limit.rate);
      if (typeof rate === 'string') problems.path([...at, 'rate'], `${where}.rate: ${rate}`);
    }
    if (limit.concurrent !== undefined && limit.over !== undefined)
      problems.path(
        [...at, 'over'],
        `${where}.over: a concurrency limit always denies (nothing to review while calls are in flight)`,
        {
          atKey: true,
        },
      );
  });
  (doc.budgets ?? []).forEach((budget, i) => {
    const at: Key[] = ['budgets', i];
    const where = `budgets[${i}]`;
    unique(budget.id, where, [...at, 'id']);
    globs(budget, where, at);
    const path = parsePath(budget.arg);
    if (typeof path === 'string') problems.path([...at, 'arg'], `${where}.arg: ${path}`);
    let windowMs = 0;
    try {
      windowMs = durationMs(budget.window);
    } catch {
      // The schema's pattern refuses what durationMs cannot read; 0 is reported below.
    }
    if (windowMs <= 0) problems.path([...at, 'window'], `${where}.window: must be longer than 0`);
    if (budget.unit === 'cents' && !Number.isInteger(budget.max))
      problems.path([...at, 'max'], `${where}.max: an amount in cents is a whole number`);
  });
}

/**
 * `severity:` opens an incident when its rule denies a tools/call: resource and prompt denials open
 * none (said, so no one relies on it), and a rule that can never deny is told it never fires.
 */
function incidentProblems(doc: PolicyV2Doc, problems: Problems): void {
  doc.rules.forEach((rule, i) => {
    if (rule.severity === undefined) return;
    if ((rule.kind ?? 'tool') !== 'tool')
      problems.path(
        ['rules', i, 'severity'],
        `rules[${i}].severity: only tool rules open incidents; resource and prompt denials do not`,
        { atKey: true },
      );
    else if (rule.decision !== 'deny' && rule.cap === undefined && rule.cap_cents === undefined)
      problems.path(
        ['rules', i, 'severity'],
        `rules[${i}].severity: this rule never denies a call, so it never opens an incident`,
        { atKey: true, severity: 'warning' },
      );
  });
  const suspend = doc.suspend === undefined ? [] : Array.isArray(doc.suspend) ? doc.suspend : [doc.suspend];
  suspend.forEach((s, i) => {
    const at = Array.isArray(doc.suspend) ? ['suspend', i, 'within'] : ['suspend', 'within'];
    if (durationMs(s.within) <= 0) problems.path(at, `${at.join('.')}: must be longer than 0`);
  });
}

/** The shape of each upstream (command or url) is the schema's union (see serverProblems); its name is checked here. */
function serverNameProblems(doc: PolicyV2Doc, problems: Problems): void {
  const separator = doc.naming?.separator ?? '__';
  for (const name of Object.keys(doc.servers ?? {})) {
    if (name.includes(separator))
      problems.path(
        ['servers', name],
        `servers.${name}: the name contains the tool separator "${separator}"`,
        {
          atKey: true,
        },
      );
  }
}

/**
 * Plain http:// to another machine carries every call, result and header (bearer tokens too) in
 * the clear: refused unless the upstream says `insecure: true`, and then still warned about. A
 * host written as `${VAR}` is judged once expanded, when the upstream is resolved.
 */
function transportProblems(doc: PolicyV2Doc, problems: Problems): void {
  for (const [name, server] of Object.entries(doc.servers ?? {})) {
    if (!('url' in server)) continue;
    const where = `servers.${name}`;
    const host = hostIsLiteral(server.url) ? remotePlainHttpHost(server.url) : undefined;
    if (host !== undefined && server.insecure !== true)
      problems.path(
        ['servers', name, 'url'],
        `${where}.url: plain http:// to ${host}, which is not this machine, sends calls and headers unencrypted: use https://, or set insecure: true on the upstream to allow it`,
      );
    else if (host !== undefined)
      problems.path(
        ['servers', name, 'insecure'],
        `${where}: insecure: plain http:// to ${host}: calls, results and headers travel unencrypted`,
        { severity: 'warning' },
      );
    else if (server.insecure === true && /^https:/i.test(server.url))
      problems.path(
        ['servers', name, 'insecure'],
        `${where}: insecure has no effect on https:// (it never turns off certificate checks; see ca_file)`,
        { severity: 'warning' },
      );
    if (server.ca_file !== undefined && /^http:/i.test(server.url))
      problems.path(
        ['servers', name, 'ca_file'],
        `${where}: ca_file has no effect on http://: there is no certificate to check`,
        { severity: 'warning' },
      );
  }
}

/** Roots must be absolute normal paths, and each upstream's given in one place only. */
function rootsProblems(doc: PolicyV2Doc, problems: Problems): void {
  const check = (list: readonly string[], at: Key[]): void => {
    list.forEach((root, i) => {
      const problem = rootProblem(root);
      if (problem) problems.path([...at, i], `${displayPath(at)}[${i}]: ${problem}`);
    });
  };
  for (const [name, server] of Object.entries(doc.servers ?? {})) {
    if (server.roots) check(server.roots, ['servers', name, 'roots']);
    else if ('command' in server) filesystemWarnings(name, server.command, server.args, problems);
  }
  for (const [name, list] of Object.entries(doc.roots ?? {})) {
    check(list, ['roots', name]);
    if (doc.servers?.[name]?.roots)
      problems.path(
        ['roots', name],
        `roots.${name}: servers.${name} has roots: already; give them in one place`,
        {
          atKey: true,
        },
      );
  }
}

/** server-filesystem without roots: its directories become them, so say which cannot and what follows. */
function filesystemWarnings(
  name: string,
  command: string,
  args: readonly string[] | undefined,
  problems: Problems,
): void {
  const dirs = filesystemDirectories(command, args);
  if (dirs === null) return;
  // Variables, `~` and relative directories are resolved when the server starts: judged as they will be then.
  const problem = (d: string): string | null => rootProblem(directoryAsStarted(d)) && rootProblem(d);
  const usable = dirs.filter((d) => problem(d) === null);
  const where = ['servers', name];
  if (dirs.length === 0)
    problems.path(
      where,
      `servers.${name}: server-filesystem without directories and without roots:, so no path is contained`,
      {
        atKey: true,
        severity: 'warning',
      },
    );
  for (const d of dirs.filter((x) => /\$[A-Za-z_]/.test(x))) {
    problems.path(
      where,
      `servers.${name}: server-filesystem directory "${d}" has a $NAME, which is passed as written: write \${NAME} to expand it`,
      { atKey: true, severity: 'warning' },
    );
  }
  for (const d of dirs.filter((x) => problem(x) !== null)) {
    const effect =
      usable.length > 0
        ? 'it is not a root, so paths in it are denied'
        : 'no root could be derived, so no path is contained';
    problems.path(
      where,
      `servers.${name}: server-filesystem directory "${d}" is not an absolute normal path (${problem(d)}): ${effect}; give roots:`,
      {
        atKey: true,
        severity: 'warning',
      },
    );
  }
}

function agentProblems(doc: PolicyV2Doc, problems: Problems): void {
  const agentIds = new Set<string>();
  const keys = new Set<string>();
  (doc.agents ?? []).forEach((a, i) => {
    if (agentIds.has(a.id)) problems.path(['agents', i, 'id'], `agents[${i}]: duplicate agent id "${a.id}"`);
    agentIds.add(a.id);
    const key = a.key_sha256?.toLowerCase();
    if (key && keys.has(key))
      problems.path(['agents', i, 'key_sha256'], `agents[${i}]: two agents share one key`);
    if (key) keys.add(key);
  });
}

function sessionProblems(doc: PolicyV2Doc, problems: Problems): void {
  const sessions = doc.sessions;
  if (sessions?.idle_timeout !== undefined && durationMs(sessions.idle_timeout) <= 0)
    problems.path(['sessions', 'idle_timeout'], 'sessions.idle_timeout: must be longer than 0');
  if (
    sessions?.max !== undefined &&
    sessions.max_per_agent !== undefined &&
    sessions.max_per_agent > sessions.max
  )
    problems.path(['sessions', 'max_per_agent'], 'sessions.max_per_agent is larger than sessions.max', {
      severity: 'warning',
    });
}

function redactProblems(doc: PolicyV2Doc, problems: Problems): void {
  (doc.audit?.redact ?? []).forEach((pattern, i) => {
    try {
      new RegExp(pattern, 'i');
    } catch {
      problems.path(['audit', 'redact', i], `audit.redact[${i}]: not a valid regular expression`);
    }
  });
}

/** Checks every rule; returns the rule ids (for the tests' `rule:`). */
function ruleProblems(doc: PolicyV2Doc, problems: Problems): Map<string, number> {
  const ids = new Map<string, number>();
  // A catch-all hides later rules of its own kind only: tools, resources and prompts are decided apart.
  const catchAll = new Map<string, number>();
  doc.rules.forEach((rule, i) => {
    const at: Key[] = ['rules', i];
    const id = rule.id ?? generatedRuleId(i);
    if (ids.has(id)) problems.path(rule.id ? [...at, 'id'] : at, `rules[${i}]: duplicate rule id "${id}"`);
    ids.set(id, i);
    for (const field of ['match', 'server', 'agent'] as const) {
      const value = rule[field];
      asList(value).forEach((glob, j) => {
        const problem = globProblem(glob);
        if (problem)
          problems.path(
            typeof value === 'string' ? [...at, field] : [...at, field, j],
            `rules[${i}].${field}: ${problem}`,
          );
      });
    }
    if (rule.cap && rule.cap_cents !== undefined)
      problems.path(at, `rules[${i}]: use cap or cap_cents, not both`);
    if (rule.cap) {
      const path = parsePath(rule.cap.arg);
      if (typeof path === 'string') problems.path([...at, 'cap', 'arg'], `rules[${i}].cap.arg: ${path}`);
    }
    for (const [text, cond] of Object.entries(rule.args ?? {})) argProblems(text, cond, at, i, problems);
    const kind = rule.kind ?? 'tool';
    if (kind !== 'tool') accessRuleProblems(rule, at, i, problems);
    const earlier = catchAll.get(kind);
    if (earlier !== undefined) {
      problems.path(at, `rules[${i}] can never match: rules[${earlier}] before it matches every call`, {
        severity: 'warning',
      });
    }
    if (earlier === undefined && matchesEveryCall(rule)) catchAll.set(kind, i);
  });
  return ids;
}

type RuleDoc = PolicyV2Doc['rules'][number];

/** Resources and prompts have no arguments to read, and their globs must say which scheme they mean. */
function accessRuleProblems(rule: RuleDoc, at: Key[], i: number, problems: Problems): void {
  for (const field of ['ops', 'args', 'cap', 'cap_cents'] as const) {
    if (rule[field] !== undefined)
      problems.path(
        [...at, field],
        `rules[${i}].${field}: a kind: ${rule.kind} rule has no arguments to read`,
      );
  }
  if (rule.kind !== 'resource') return;
  asList(rule.match).forEach((glob, j) => {
    const where = typeof rule.match === 'string' ? [...at, 'match'] : [...at, 'match', j];
    const normal = normalizeUriGlob(glob);
    if (normal === null) {
      problems.path(
        where,
        `rules[${i}].match: resource glob "${glob}" must start with a scheme such as file: (or be * or **)`,
      );
      return;
    }
    // URIs are matched in their normalised spelling: a glob in another spelling can never match.
    // The literal part is checked up to its last `/` (`file:///a/.*` is a fine glob for dot files).
    const literal = literalPrefix(normal);
    const checked = literal === normal ? normal : literal.slice(0, literal.lastIndexOf('/') + 1);
    const read = checked.includes(':') ? normalizeResourceUri(checked) : null;
    const dotted = /\/\.\.?(\/|$)/.test(normal.slice(normal.indexOf(':') + 1).replace(/^\/\//, ''));
    if ((read && (!read.ok || read.uri !== checked)) || dotted)
      problems.path(
        where,
        `rules[${i}].match: resource glob "${glob}" can never match: URIs are matched normalised` +
          (read?.ok && read.uri !== checked
            ? ` (as "${read.uri}")`
            : read && !read.ok
              ? `, and this one ${read.problem}`
              : ' (no . or .. segments)'),
      );
  });
}

function matchesEveryCall(rule: RuleDoc): boolean {
  return (
    asList(rule.match).some((g) => /^\*+$/.test(g)) &&
    !rule.server &&
    !rule.agent &&
    !rule.trust_at_least &&
    !rule.trust_below &&
    !rule.ops &&
    !rule.args
  );
}

/** One `args:` condition of rule i: its path, and its globs (a path-like `glob` is matched as a path). */
function argProblems(
  text: string,
  cond: NonNullable<RuleDoc['args']>[string],
  at: Key[],
  i: number,
  problems: Problems,
): void {
  const path = parsePath(text);
  if (typeof path === 'string')
    problems.path([...at, 'args', text], `rules[${i}].args: ${path}`, { atKey: true });
  else if (path.many && (cond.path_glob === undefined || Object.keys(cond).length !== 1))
    problems.path([...at, 'args', text], `rules[${i}].args: [*] is only for caps and path_glob alone`, {
      atKey: true,
    });
  if (cond.glob !== undefined) {
    const pathLike = looksLikePathGlob(cond.glob);
    const problem = pathLike ? pathGlobProblem(cond.glob) : globProblem(cond.glob);
    if (problem) problems.path([...at, 'args', text, 'glob'], `rules[${i}].args.${text}: ${problem}`);
    else if (pathLike)
      problems.path(
        [...at, 'args', text, 'glob'],
        `rules[${i}].args.${text}: glob "${cond.glob}" is written like a path, so it is matched as one (normalised, see path_glob); write path_glob to say so`,
        { severity: 'warning' },
      );
  }
  const pathGlobs = cond.path_glob;
  asList(pathGlobs).forEach((glob, j) => {
    const problem = pathGlobProblem(glob);
    if (problem)
      problems.path(
        typeof pathGlobs === 'string'
          ? [...at, 'args', text, 'path_glob']
          : [...at, 'args', text, 'path_glob', j],
        `rules[${i}].args.${text}: ${problem}`,
      );
  });
}

function nonFiniteNumbers(value: unknown, path: Key[]): Key[][] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => nonFiniteNumbers(item, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => nonFiniteNumbers(item, [...path, key]));
  }
  return [];
}

/**
 * Loads a policy from its text. Pure: the caller reads the file; `file` only labels the problems.
 * Version 1 (AegisMCP) files are migrated to version 2 in memory.
 */
export function loadPolicy(text: string, file: string): LoadResult {
  const lines = new LineCounter();
  const yamlDoc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
  const problems = new Problems(file, lines, yamlDoc.contents);
  for (const e of yamlDoc.errors) problems.at(e.pos[0], `YAML: ${e.message.split('\n')[0]}`);
  for (const w of yamlDoc.warnings) problems.at(w.pos[0], `YAML: ${w.message.split('\n')[0]}`, 'warning');
  if (problems.errors.length > 0) return { ok: false, errors: problems.errors, warnings: problems.warnings };

  let data: unknown;
  try {
    data = yamlDoc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    problems.at(0, `YAML: ${error instanceof Error ? error.message : String(error)}`);
    return { ok: false, errors: problems.errors, warnings: problems.warnings };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    problems.at(0, 'a policy is a YAML mapping with version: 2 and rules');
    return { ok: false, errors: problems.errors, warnings: problems.warnings };
  }
  // YAML has .inf and .nan; JSON Schema's "number" accepts them, and a cap of .inf is no cap at all.
  for (const path of nonFiniteNumbers(data, []))
    problems.path(path, `${displayPath(path)}: must be a finite number`);
  if (problems.errors.length > 0) return { ok: false, errors: problems.errors, warnings: problems.warnings };
  const record = data as Record<string, unknown>;
  const { v1, v2 } = schemaValidators();
  let doc: PolicyV2Doc;
  let sourceVersion: 1 | 2;
  if (record.version === 2) {
    schemaProblems(v2, data, problems);
    if (problems.errors.length === 0) semanticProblems(data as PolicyV2Doc, problems);
    doc = data as PolicyV2Doc;
    sourceVersion = 2;
  } else if (record.version === undefined || record.version === 1) {
    if (record.version === undefined && 'rules' in record) {
      problems.at(0, 'missing "version: 2" at the top of the policy');
    } else {
      schemaProblems(v1, data, problems);
      if (problems.errors.length === 0) {
        (data as PolicyV1Doc).deny_tools?.forEach((g, i) => {
          const p = globProblem(g);
          if (p) problems.path(['deny_tools', i], `deny_tools[${i}]: ${p}`);
        });
        (data as PolicyV1Doc).allow_tools?.forEach((g, i) => {
          const p = globProblem(g);
          if (p) problems.path(['allow_tools', i], `allow_tools[${i}]: ${p}`);
        });
      }
    }
    doc = migrateV1(data as PolicyV1Doc);
    sourceVersion = 1;
  } else {
    problems.path(['version'], 'version: must be 2 (or 1 for an AegisMCP policy)');
    return { ok: false, errors: problems.errors, warnings: problems.warnings };
  }
  if (problems.errors.length > 0) return { ok: false, errors: problems.errors, warnings: problems.warnings };
  return {
    ok: true,
    policy: compilePolicy(doc, sha256Hex(text)),
    doc,
    sourceVersion,
    warnings: problems.warnings,
  };
}
