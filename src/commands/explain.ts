// `portcullis policy explain`: which rule decides a tool call, resource read or prompt, with the containment and schema checks the gate runs first.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BudgetLedger } from '../limits/index.js';
import { PinStore } from '../pins/index.js';
import {
  type Call,
  type CompiledPolicy,
  containmentChecks,
  type Decision,
  formatProblem,
  type InputSchemaSettings,
  JsonInputError,
  judgeLimits,
  type LoadResult,
  type PathCheck,
  parseJsonStrict,
  TRUST_LEVELS,
  type Trust,
} from '../policy/index.js';
import {
  ArgumentSchemas,
  commandRoots,
  deriveServerName,
  type SchemaAction,
  type SchemaFinding,
  schemaActionOf,
  type ToolInputSchema,
  toolInputSchema,
  withSchemaReview,
} from '../proxy/index.js';
import { GOVERNANCE_DB } from '../util/index.js';
import { EXIT_CHECK_FAILED, EXIT_OK, type Io, UsageError } from './io.js';
import { readPolicyFile } from './policy.js';

export interface ExplainOptions {
  tool?: string | undefined;
  resource?: string | undefined;
  prompt?: string | undefined;
  server?: string | undefined;
  agent?: string | undefined;
  trust?: string | undefined;
  args?: string | undefined;
  /** A JSON file holding the tool's inputSchema, or a whole tool definition with one. */
  schema?: string | undefined;
  /** A data dir whose pins/<server>.json holds the pinned definition of --server/--tool. */
  dataDir?: string | undefined;
  /** The `-- COMMAND ARGS...` upstream, as `run` takes it: server-filesystem's directories become roots. */
  command?: string[] | undefined;
  json?: boolean | undefined;
}

/** Where the roots of the explained server come from, and the checks of each path argument. */
interface ContainmentView {
  roots: readonly string[];
  source: 'policy' | 'command';
  checks: PathCheck[];
}

/** Whether the tool's own schema was checked, against what, and what it changed. */
interface SchemaView {
  checked: boolean;
  source: string | null;
  /** Why nothing was checked, when it was not. */
  note?: string;
  finding?: SchemaFinding;
  action?: SchemaAction['action'] | 'none';
}

function parseArgs(text: string | undefined, flag: string): unknown {
  if (text === undefined) return {};
  try {
    return parseJsonStrict(text);
  } catch (error) {
    if (error instanceof JsonInputError) throw new UsageError(`${flag}: ${error.message}`);
    throw error;
  }
}

function printProblems(result: LoadResult, io: Io): void {
  const problems = result.ok ? result.warnings : [...result.errors, ...result.warnings];
  for (const p of problems) io.err(formatProblem(p));
}

export async function policyExplain(file: string, options: ExplainOptions, io: Io): Promise<number> {
  const given = (['tool', 'resource', 'prompt'] as const).filter((k) => options[k] !== undefined);
  if (given.length !== 1)
    throw new UsageError('say what to explain with exactly one of --tool, --resource or --prompt');
  const args = parseArgs(options.args, '--args');
  if (options.trust !== undefined && !(TRUST_LEVELS as readonly string[]).includes(options.trust)) {
    throw new UsageError(`--trust must be one of ${TRUST_LEVELS.join(', ')}`);
  }
  const command = options.command ?? [];
  const [program, ...commandArgs] = command;
  // As `run` names the `-- COMMAND` upstream; --server names it when given (run's --name).
  const server =
    options.server ?? (program !== undefined ? deriveServerName(program, commandArgs) : undefined);
  const { result } = await readPolicyFile(file);
  printProblems(result, io);
  if (!result.ok) return EXIT_CHECK_FAILED;
  const policy = result.policy;
  const trust = options.trust as Trust | undefined;

  if (options.tool === undefined) {
    const kind = options.resource !== undefined ? 'resource' : 'prompt';
    const name = (options.resource ?? options.prompt) as string;
    const d = policy.evaluateAccess(
      { kind, name, server, agent: options.agent, ...(trust !== undefined && { trust }) },
      { explain: true },
    );
    if (options.json) {
      io.out(JSON.stringify({ kind, name, ...shape(d) }));
      return EXIT_OK;
    }
    io.out(
      `${d.decision.toUpperCase()} ${kind} ${name} by ${d.rule === null ? 'the default' : `rule ${d.rule}`}: ${d.reason}`,
    );
    printTrace(d, io);
    if (d.rule === null) io.out(`  -> default_${kind}s: ${policy.accessDefaults[kind]}`);
    if (d.decision === 'review')
      io.out(
        kind === 'resource'
          ? '  (a read waits in the approval queue for a person; a resources/subscribe is denied)'
          : '  (the prompts/get waits in the approval queue for a person)',
      );
    io.out(`policy sha256 ${d.policySha256}`);
    return EXIT_OK;
  }

  const tool = options.tool;
  const call: Call = { tool, server, agent: options.agent, args };
  if (trust !== undefined) call.trust = trust;
  const granted =
    program !== undefined && server !== undefined
      ? commandRoots({ name: server, command: program, args: commandArgs })[server]
      : undefined;
  // As in the gate: a call outside its server's roots is denied before any rule is read, and then
  // arguments the tool's own schema refuses (input_schema: deny) before the rules.
  const outside = policy.containment(call, granted);
  const containment = containmentView(policy.roots, server, granted, args);
  const schema = await schemaView(options, server, tool, args, policy.inputSchema);
  const deny = (reason: string): Decision => ({
    decision: 'deny',
    rule: null,
    reason,
    policySha256: policy.sha256,
    trace: [],
  });
  const schemaAction = schema.finding ? schemaActionOf(policy.inputSchema, schema.finding) : undefined;
  let by: string | undefined;
  let d: Decision;
  if (outside !== null) {
    d = deny(outside);
    by = 'Portcullis (containment)';
  } else if (schemaAction?.action === 'deny') {
    d = deny(schemaAction.reason);
    by = 'Portcullis (input schema)';
  } else {
    d = withSchemaReview(policy.evaluate(call, { explain: true }), schemaAction);
    if (schemaAction?.action === 'review' && d.rule === null && d.decision === 'review')
      by = 'Portcullis (input schema)';
  }
  const limits = limitsView(policy, { tool, server, agent: options.agent, args }, d, options.dataDir);
  if (options.json) {
    io.out(
      JSON.stringify({
        ...shape(d),
        ...(containment !== undefined && { containment }),
        schema,
        ...(limits !== undefined && { limits: limitsJson(limits) }),
      }),
    );
    return EXIT_OK;
  }
  io.out(
    `${d.decision.toUpperCase()} by ${by ?? (d.rule === null ? 'the default' : `rule ${d.rule}`)}: ${d.reason}`,
  );
  printTrace(d, io);
  if (containment !== undefined) {
    io.out(`  -> containment: the server's roots are ${containment.roots.join(', ')}`);
    if (containment.source === 'command')
      io.out(`     (server-filesystem's directories in the -- COMMAND, upstream "${server}")`);
    if (containment.checks.length === 0) io.out('     no path argument');
    for (const c of containment.checks)
      io.out(
        `     ${c.argument} ${JSON.stringify(c.value)}: ${c.root !== null ? `inside ${c.root}` : (c.problem ?? 'outside every root')}`,
      );
  }
  if (outside === null && schemaAction?.action !== 'deny' && d.rule === null && by === undefined)
    io.out(`  -> default: ${policy.defaultDecision}`);
  if (!schema.checked) io.out(`  schema: NOT CHECKED: ${schema.note}`);
  else
    io.out(
      `  schema: checked against ${schema.source}: ${schema.finding ? `${schema.finding.reason} (${schema.action === 'none' ? 'input_schema lets it pass' : `input_schema: ${schema.action}`})` : 'the arguments match'}`,
    );
  if (limits !== undefined) printLimits(limits, io);
  io.out(`policy sha256 ${d.policySha256}`);
  return EXIT_OK;
}

/** The limits and budgets that apply to the explained call, the budget state used, and what they make of it. */
interface LimitsView {
  ledger: string | null;
  /** Why no ledger was read, when none was. */
  note?: string;
  budgets: {
    id: string;
    used: number;
    amount: number | null;
    max: number;
    window: string;
    unit: string | null;
    over: string;
  }[];
  rates: { id: string; rate: string; over: string }[];
  concurrency: { id: string; max: number }[];
  after: Decision;
  breach?: string;
}

function limitsView(
  policy: CompiledPolicy,
  call: { tool: string; server: string | undefined; agent: string | undefined; args: unknown },
  decision: Decision,
  dataDir: string | undefined,
): LimitsView | undefined {
  // As the proxy names a caller without a key (startApp's default agent).
  const agent = call.agent ?? 'anonymous';
  const applied = policy.limits.applicable({ agent, server: call.server ?? '', tool: call.tool });
  if (applied.rates.length + applied.concurrency.length + applied.budgets.length === 0) return undefined;
  const file = dataDir === undefined ? undefined : join(dataDir, GOVERNANCE_DB);
  let ledger: BudgetLedger | undefined;
  let note: string | undefined;
  if (applied.budgets.length > 0) {
    if (file === undefined) note = 'no ledger (give --data-dir): assumed 0 used';
    else if (!existsSync(file)) note = `no ledger at ${file}: assumed 0 used`;
    else ledger = BudgetLedger.openFile(file);
  }
  try {
    const now = Date.now();
    const used = new Map(applied.budgets.map((b) => [b.id, ledger?.used(b.id, agent, b.windowMs, now) ?? 0]));
    // Rates and calls in flight live in each proxy process's memory: none is known here.
    const judged = judgeLimits(
      applied,
      { agent, args: call.args },
      { rates: new Map(), inFlight: new Map(), budgets: used },
      decision,
      'admit',
    );
    return {
      ledger: ledger === undefined ? null : (file as string),
      ...(note !== undefined && { note }),
      budgets: applied.budgets.map((b) => ({
        id: b.id,
        used: used.get(b.id) ?? 0,
        amount: judged.amounts.find((a) => a.budget === b.id)?.amount ?? null,
        max: b.max,
        window: b.window,
        unit: b.unit,
        over: b.over,
      })),
      rates: applied.rates.map((r) => ({ id: r.id, rate: `${r.max}/${r.per}`, over: r.over })),
      concurrency: applied.concurrency.map((c) => ({ id: c.id, max: c.max })),
      after: judged.decision,
      ...(judged.breach !== undefined && { breach: judged.breach.id }),
    };
  } finally {
    ledger?.close();
  }
}

function limitsJson(view: LimitsView): Record<string, unknown> {
  const { after, ...rest } = view;
  return { ...rest, decision: after.decision, reason: after.reason };
}

function printLimits(view: LimitsView, io: Io): void {
  const unit = (n: number, u: string | null) => (u === null ? String(n) : `${n} ${u}`);
  for (const b of view.budgets) {
    const amount = b.amount === null ? 'an unreadable amount' : unit(b.amount, b.unit);
    io.out(
      `  budget ${b.id}: ${unit(b.used, b.unit)} of ${unit(b.max, b.unit)} used in the last ${b.window}; this call ${amount} (over: ${b.over})`,
    );
  }
  if (view.budgets.length > 0)
    io.out(`     ${view.ledger !== null ? `read from the ledger ${view.ledger}` : view.note}`);
  for (const r of view.rates) io.out(`  rate limit ${r.id}: ${r.rate} (over: ${r.over})`);
  for (const c of view.concurrency) io.out(`  concurrency limit ${c.id}: ${c.max} at once`);
  if (view.rates.length + view.concurrency.length > 0)
    io.out('     rates and calls in flight are counted in each proxy process: assumed none used');
  io.out(
    `  -> after limits and budgets: ${view.after.decision.toUpperCase()}${view.breach !== undefined ? `: ${view.after.reason}` : ''}`,
  );
}

function shape(d: Decision): Record<string, unknown> {
  return { decision: d.decision, rule: d.rule, reason: d.reason, trace: d.trace ?? [] };
}

function printTrace(d: Decision, io: Io): void {
  for (const step of d.trace ?? []) io.out(`  ${step.matched ? '->' : '  '} ${step.rule}: ${step.detail}`);
}

function containmentView(
  policyRoots: Readonly<Record<string, readonly string[]>>,
  server: string | undefined,
  granted: readonly string[] | undefined,
  args: unknown,
): ContainmentView | undefined {
  const own = server === undefined ? undefined : policyRoots[server];
  const roots = own ?? granted;
  if (roots === undefined) return undefined;
  return { roots, source: own !== undefined ? 'policy' : 'command', checks: containmentChecks(args, roots) };
}

/** The inputSchema to check: --schema's file first, else the pinned definition in --data-dir. */
async function schemaView(
  options: ExplainOptions,
  server: string | undefined,
  tool: string,
  args: unknown,
  settings: InputSchemaSettings,
): Promise<SchemaView> {
  if (!settings.check)
    return { checked: false, source: null, note: 'the policy turns the check off (input_schema)' };
  let input: ToolInputSchema | undefined;
  let source: string;
  if (options.schema !== undefined) {
    let text: string;
    try {
      text = await readFile(options.schema, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read --schema ${options.schema}: ${(error as NodeJS.ErrnoException).code}`,
      );
    }
    const value = parseArgs(text, `--schema ${options.schema}`);
    // A whole tool definition (as tools/list lists it) or the inputSchema alone.
    const isTool = typeof value === 'object' && value !== null && 'inputSchema' in value;
    input = toolInputSchema(isTool ? value : { inputSchema: value });
    source = `${options.schema}`;
  } else if (options.dataDir !== undefined) {
    if (server === undefined) throw new UsageError('--data-dir reads the pins of --server; name the server');
    const store = new PinStore(options.dataDir);
    const state = store.read(server);
    if (state.kind === 'unreadable') throw new UsageError(state.error);
    const pinned = state.kind === 'pinned' ? state.file.tools[tool] : undefined;
    if (pinned === undefined) {
      const held = state.kind === 'pinned' && state.file.held[tool] !== undefined;
      return {
        checked: false,
        source: null,
        note: held
          ? `tool "${tool}" of ${server} has no pin, only a held definition (the proxy refuses its calls)`
          : `no pin of tool "${tool}" in ${store.fileOf(server)}`,
      };
    }
    input = toolInputSchema(pinned.definition);
    source = `the pin of ${server}/${tool} in ${store.fileOf(server)}`;
  } else {
    return {
      checked: false,
      source: null,
      note: "no schema given (--schema FILE, or --data-dir DIR for the tool's pinned definition)",
    };
  }
  const schemas = new ArgumentSchemas({ log: () => {} });
  let finding: SchemaFinding | undefined;
  try {
    finding = schemas.check(server ?? '', tool, input, args);
  } catch {
    finding = {
      kind: 'mismatch',
      reason: `the arguments of tool "${tool}" could not be checked against its inputSchema`,
    };
  }
  if (finding === undefined) return { checked: true, source };
  const action = schemaActionOf(settings, finding);
  return { checked: true, source, finding, action: action?.action ?? 'none' };
}
