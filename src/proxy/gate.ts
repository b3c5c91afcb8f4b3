// The tools/call gate: policy decision, audit record, then deny, review or forward.

import { randomUUID } from 'node:crypto';
import type { CallToolResult, Result } from '@modelcontextprotocol/sdk/types.js';
import type { AuditEvent, AuditSink } from '../audit/index.js';
import { type FlowFinding, FlowMemory, failedFlowCheck, flowReason } from '../flow/index.js';
import type {
  AccessKind,
  CompiledPolicy,
  Decision,
  FlowSettings,
  ResultSecretAction,
  ReviewSettings,
} from '../policy/index.js';
import { findLoneSurrogate, toWellFormed } from '../secrets/index.js';
import type { LogFields } from '../util/index.js';
import {
  ArgumentSchemas,
  type SchemaAction,
  type SchemaFinding,
  schemaActionOf,
  type ToolInputSchema,
  withSchemaReview,
} from './arg-schema.js';
import { ACCESS_DENIED, errorText, RpcError } from './errors.js';
import {
  type Admission,
  type Governor,
  type Standing,
  standingNow,
  UNGOVERNED,
  unbooked,
} from './governor.js';
import { detectorsOf, type ScreenedResult, screenResult } from './result-scan.js';
import type { Elicit, ExecutionReport, ReviewHandler, ReviewRequest, ReviewVerdict } from './review.js';

/** `_meta` key under which denied and held results name the decision (allowed results stay untouched). */
export const DECISION_META_KEY = 'portcullis/decision';

export interface GateDeps {
  policy(): CompiledPolicy;
  audit: AuditSink;
  review: ReviewHandler;
  /** Lines about one call carry its correlation id (`--log-format json` writes it). */
  log(message: string, fields?: LogFields): void;
  /**
   * Roots the started upstreams grant, by upstream name (server-filesystem's resolved directories);
   * the policy's win. A function is asked on every call (the upstreams change on reload).
   */
  roots?:
    | Readonly<Record<string, readonly string[]>>
    | (() => Readonly<Record<string, readonly string[]>>)
    | undefined;
  /** Compiled inputSchema validators; one per gate unless shared. */
  schemas?: ArgumentSchemas | undefined;
  /** What sensitive results held, per agent; one per gate unless shared (it holds every session's agents). */
  flow?: FlowMemory | undefined;
  /** The clock of the flow memory a gate makes itself (tests move it). */
  now?: (() => number) | undefined;
  /** The agent registry, limits and budgets, incidents and suspension; none: every agent as the policy says. */
  governor?: Governor | undefined;
  /** Told how long the parts of each tools/call took (the metrics); none: nothing is timed. */
  observer?: GateObserver | undefined;
}

/**
 * Timings of tools/calls, in seconds. Called on the hot path with plain numbers (no objects made
 * per call); an observer that throws is ignored.
 */
export interface GateObserver {
  /** The policy's evaluation of one call. */
  evaluated(seconds: number): void;
  /**
   * One forwarded call: the upstream's time, and what the proxy itself added around it (gate entry
   * to result, less the upstream); `overhead` is undefined for a call a person held (their wait is not the proxy's).
   */
  forwarded(server: string, upstream: number, overhead: number | undefined): void;
}

export interface GateCall {
  agent: string;
  /** The upstream's name; undefined when no upstream listed the tool. */
  server: string | undefined;
  /** The tool name as the upstream lists it. */
  tool: string;
  args: unknown;
  /** The inputSchema the upstream listed for the tool; undefined when it listed none. */
  inputSchema?: ToolInputSchema | undefined;
  /** Set when the tool's definition is held by its pin: the call is refused with this reason. */
  held?: string | undefined;
  /** Why there is no server (ambiguous, upstream unavailable); the default is "not listed by any upstream". */
  unrouted?: string | undefined;
  /** Aborted when the client cancels the call or disconnects. */
  signal: AbortSignal;
  /** Present when the client sent a progress token: a held call reports that it is waiting. */
  progress?: ((message: string) => void) | undefined;
  /** Present when the client declared elicitation: a review may be asked there (`approve_in`). */
  elicit?: Elicit | undefined;
  /** Sends the call upstream with these arguments and returns the upstream's result untouched. */
  forward(args: unknown): Promise<Result>;
}

/** One resources/read, resources/subscribe or prompts/get, routed to the upstream that listed it. */
export interface AccessCall {
  kind: AccessKind;
  method: 'resources/read' | 'resources/subscribe' | 'prompts/get';
  agent: string;
  server: string;
  /** The resource URI as the client sent it, or the prompt name as the upstream lists it. */
  name: string;
  /** A prompt's arguments, for the audit record. */
  args?: unknown;
  /** Aborted when the client cancels or disconnects: a held review is withdrawn. */
  signal?: AbortSignal | undefined;
  /** Present when the client sent a progress token: a held review reports that it is waiting. */
  progress?: ((message: string) => void) | undefined;
  /** Present when the client declared elicitation: a review may be asked there (`approve_in`). */
  elicit?: Elicit | undefined;
  /** Sends the request upstream unchanged and returns the upstream's result untouched. */
  forward(): Promise<Result>;
}

type Outcome = 'ok' | 'tool_error' | 'protocol_error';

/**
 * A decision and what the same policy lets its call's result hold; `sensitive` set when the rule
 * that matched says `sensitive: true`, so its result is remembered for the agent.
 */
type Judged = Decision & {
  results: ResultSecretAction;
  sensitive?: { rule: string; flow: FlowSettings } | undefined;
  /** What limits and budgets booked for the call: released when an approval runs it, ended once. */
  admission?: Admission | undefined;
  /** How a review of the call is decided (the deciding rule's `approvers`, `approve_in`, grants). */
  review?: ReviewSettings | undefined;
  /** True when a standing grant may settle its review (see ReviewRequest.grantable). */
  grantable?: boolean | undefined;
};

/** The fields every audit record of one call shares. */
type CallBase = Omit<AuditEvent, 'event'> & { correlation_id: string; server: string | null };

export class Gate {
  private readonly deps: GateDeps;
  private readonly schemas: ArgumentSchemas;
  private readonly flow: FlowMemory;
  private readonly governor: Governor;

  constructor(deps: GateDeps) {
    this.deps = deps;
    this.schemas = deps.schemas ?? new ArgumentSchemas({ log: deps.log });
    this.flow = deps.flow ?? new FlowMemory({ now: deps.now });
    this.governor = deps.governor ?? UNGOVERNED;
  }

  /** The agent's standing; a registry that cannot tell suspends the call (closed). */
  private standing(agent: string): Standing {
    return standingNow(() => this.governor.standing(agent), this.deps.log);
  }

  /** One tools/call: refuse what cannot be judged, decide, record, then deny, review or forward. */
  async call(call: GateCall): Promise<Result> {
    const started = this.deps.observer === undefined ? undefined : performance.now();
    const base: CallBase = {
      correlation_id: randomUUID(),
      agent: call.agent,
      server: call.server ?? null,
      tool: call.tool,
    };
    if (call.server === undefined) {
      return this.refuse(base, call, call.unrouted ?? `tool "${call.tool}" is not listed by any upstream`);
    }
    const policy = this.deps.policy();
    // A suspended agent runs nothing, whatever the policy says; a person reinstates it.
    const standing = this.standing(call.agent);
    if (standing.suspended !== undefined) return this.refuse(base, call, standing.suspended, policy.sha256);
    // A definition that changed since it was pinned is not the tool anyone trusted: nothing runs.
    if (call.held !== undefined) return this.refuse(base, call, call.held, policy.sha256);
    // Not valid Unicode: the upstream would receive text no UTF-8 peer can represent (the SDK writes
    // it as replacement characters or as an escape strict parsers refuse), so it is never forwarded.
    const lone = findLoneSurrogate(call.args);
    if (lone !== null) {
      const at = lone === '' ? 'the top level' : toWellFormed(lone);
      const reason = `the arguments are not valid Unicode: a lone UTF-16 surrogate at ${at}`;
      return this.refuse(base, call, reason, policy.sha256);
    }
    // Outside the server's roots (a `..` in an argument no rule names): denied before any rule reads it.
    const granted = typeof this.deps.roots === 'function' ? this.deps.roots() : this.deps.roots;
    const outside = policy.containment({ server: call.server, args: call.args }, granted?.[call.server]);
    if (outside !== null) return this.refuse(base, call, outside, policy.sha256);

    // Strict with what we judge: arguments outside the tool's own schema are refused before any
    // rule reads them (a rule that looks at `path` must not be passed by a call that also says `file`).
    const schema = this.schemaAction(policy, call, call.server);
    if (schema?.action === 'deny') return this.refuse(base, call, schema.reason, policy.sha256);
    const flow = this.flowCheck(policy, call, call.server, base.correlation_id);
    const ruled = this.decide(policy, call, call.server, standing, base.correlation_id);
    // Literal members first, spreads after: members added after a leading spread made V8 build
    // each of these objects slowly (~0.5% of a busy proxy's CPU per object, bench/prof-top.ts).
    const governed = { agent: call.agent, server: call.server, tool: call.tool, args: call.args };
    const admission = this.admit(
      { correlationId: base.correlation_id, ...governed },
      withFlow(withSchemaReview(ruled, schema), flow, policy.flow),
    );
    const decision = admission.decision;
    const written = await this.record({
      event: 'decision',
      decision: decision.decision,
      rule: decision.rule,
      reason: decision.reason,
      policy_sha256: decision.policySha256,
      args: call.args,
      ...base,
      // The source and its age, never the value (the record would otherwise keep what is guarded).
      ...(flow !== undefined && { flow: flowRecord(flow) }),
      ...admission.record,
    });
    if (written) this.decided({ correlationId: base.correlation_id, decision, ...governed }, admission);
    const ctx = { decision, correlationId: base.correlation_id };
    if (decision.decision === 'deny' || !written) admission.end(false);
    if (decision.decision === 'deny') {
      // A limit or budget denied it, not the rule: Portcullis says so (the rule stays in the metadata).
      const by = admission.breach !== undefined ? { by: PORTCULLIS } : {};
      return denied(decision.reason, { ...ctx, rule: decision.rule, ...by });
    }
    if (!written) {
      return denied('the audit log cannot be written, so the call was not forwarded', {
        ...ctx,
        by: PORTCULLIS,
      });
    }
    // The rule's own review settings, even where a schema review took its name off the decision: a
    // two-person rule stays two-person. Only the rule's own review, untouched, may take a grant.
    const review = policy.reviewFor(ruled.rule);
    const grantable =
      review.grants &&
      ruled.decision === 'review' &&
      ruled.capped !== true &&
      decision.decision === 'review' &&
      decision.rule === ruled.rule &&
      decision.reason === ruled.reason &&
      admission.breach === undefined;
    // The policy that decided also says what the result may hold, even if a reload comes in between.
    const judged: Judged = {
      ...decision,
      review,
      grantable,
      results: policy.resultsFor(decision.rule).secrets,
      // The rule's own word, even where a schema review took the rule's name off the decision.
      ...(ruled.rule !== null &&
        policy.sensitive(ruled.rule) && { sensitive: { rule: ruled.rule, flow: policy.flow } }),
      admission,
    };
    if (decision.decision === 'allow')
      return this.execute(call, call.args, base, judged, undefined, undefined, 'result', started);
    return this.reviewed(call, base, judged);
  }

  /** A remembered sensitive value the arguments carry to this tool; a check that throws holds the call (closed). */
  private flowCheck(
    policy: CompiledPolicy,
    call: GateCall,
    server: string,
    correlationId: string,
  ): FlowFinding | undefined {
    try {
      return this.flow.check(call.agent, { server, tool: call.tool }, call.args, policy.flow);
    } catch (error) {
      this.deps.log(`sensitive data flow check failed: ${errorText(error)}`, {
        level: 'error',
        correlation_id: correlationId,
      });
      return failedFlowCheck();
    }
  }

  /** Remembers a sensitive call's result for its agent (hashes only); a failure is logged, never the result's fault. */
  private rememberFlow(base: CallBase, result: Result, decision: Judged): number | undefined {
    const tool = base.tool;
    const sensitive = decision.sensitive;
    if (sensitive === undefined || base.server === null) return undefined;
    if (typeof tool !== 'string' || tool === '') return undefined;
    try {
      const agent = typeof base.agent === 'string' ? base.agent : '';
      const source = { server: base.server, tool, rule: sensitive.rule };
      return this.flow.remember(agent, source, result, sensitive.flow);
    } catch (error) {
      this.deps.log(`remembering a sensitive result failed: ${errorText(error)}`, {
        correlation_id: base.correlation_id,
      });
      return undefined;
    }
  }

  /**
   * What limits and budgets make of the decision (a deny is not looked at: it books nothing). A
   * governor that throws denies the call (closed).
   */
  private admit(call: Parameters<Governor['admit']>[0], decision: Decision): Admission {
    if (decision.decision === 'deny') return unbooked(decision);
    try {
      return this.governor.admit(call, decision);
    } catch (error) {
      this.deps.log(`limits check failed: ${errorText(error)}`, {
        level: 'error',
        correlation_id: call.correlationId,
      });
      return unbooked({ ...decision, decision: 'deny', rule: null, reason: 'the limits check failed' });
    }
  }

  /** Tells governance of a recorded decision; what it does with it is never the call's fault. */
  private decided(call: Parameters<Governor['decided']>[0], admission: Admission): void {
    try {
      this.governor.decided({ ...call, ...(admission.breach !== undefined && { breach: admission.breach }) });
    } catch (error) {
      this.deps.log(`governance could not take the decision: ${errorText(error)}`, {
        level: 'error',
        correlation_id: call.correlationId,
      });
    }
  }

  /** What the policy's `input_schema` settings make of the arguments; undefined: nothing to add. */
  private schemaAction(policy: CompiledPolicy, call: GateCall, server: string): SchemaAction | undefined {
    const settings = policy.inputSchema;
    if (!settings.check) return undefined;
    let finding: SchemaFinding | undefined;
    try {
      finding = this.schemas.check(server, call.tool, call.inputSchema, call.args);
    } catch (error) {
      // The schema compiled, so what made its validator throw (a stack overflow on deeply nested
      // arguments) came with the call: such arguments are refused like a mismatch, never let through.
      this.deps.log(`checking the arguments of tool "${call.tool}" failed: ${errorText(error)}`, {
        level: 'warn',
      });
      finding = {
        kind: 'mismatch',
        reason: `the arguments of tool "${call.tool}" could not be checked against its inputSchema`,
      };
    }
    return schemaActionOf(settings, finding);
  }

  /**
   * A resource read or subscription, or a prompt: decided by the policy's resource and prompt rules,
   * recorded before anything is forwarded (no record, no call), then refused with a JSON-RPC error
   * (these methods have no tool-error result) or forwarded.
   */
  async access(call: AccessCall): Promise<Result> {
    const base: CallBase = {
      correlation_id: randomUUID(),
      agent: call.agent,
      server: call.server,
      tool: null,
    };
    const subject = { method: call.method, [call.kind]: call.name };
    const policy = this.deps.policy();
    const standing = this.standing(call.agent);
    const decision: Decision =
      standing.suspended !== undefined
        ? { decision: 'deny', rule: null, reason: standing.suspended, policySha256: policy.sha256 }
        : this.decideAccess(policy, call, standing);
    const written = await this.record({
      ...base,
      ...subject,
      event: 'decision',
      decision: decision.decision,
      rule: decision.rule,
      reason: decision.reason,
      policy_sha256: decision.policySha256,
      ...(call.args !== undefined && { args: call.args }),
    });
    const ctx = { decision, correlationId: base.correlation_id };
    if (decision.decision === 'deny') throw accessDenied(decision.reason, { ...ctx, rule: decision.rule });
    // A subscription is a stream of updates with no one request a person could approve and run once:
    // holding it would leave the client without an answer, so it is denied and says why.
    if (decision.decision === 'review' && call.method === 'resources/subscribe') {
      const reason = `${decision.reason} (under review; a subscription cannot wait for a person, so it is denied: read the resource instead)`;
      throw accessDenied(reason, { ...ctx, rule: decision.rule });
    }
    if (!written) {
      const reason = `the audit log cannot be written, so the ${call.method} was not forwarded`;
      throw accessDenied(reason, { ...ctx, by: PORTCULLIS });
    }
    // What a resource or prompt returns reaches the model like a tool result, so the same
    // results.secrets applies (the deciding rule's, else the policy's); a block is a JSON-RPC error.
    const judged: Judged = {
      ...decision,
      results: policy.resultsFor(decision.rule).secrets,
      review: policy.reviewFor(decision.rule),
    };
    const forward = { forward: () => call.forward() };
    if (decision.decision === 'allow')
      return this.execute(forward, undefined, { ...base, ...subject }, judged, undefined, undefined, 'error');
    return this.reviewedAccess(call, { ...base, ...subject }, judged, forward);
  }

  /**
   * A resource read or prompt get under review: queued for a person like a tool call. Approved, the
   * very same request runs once (it is forwarded unchanged: the reviewer saw its URI or name and
   * arguments); denied, expired or still pending, a -32003 error says why.
   */
  private async reviewedAccess(
    call: AccessCall,
    base: CallBase,
    decision: Judged,
    forward: Pick<GateCall, 'forward'>,
  ): Promise<Result> {
    const correlationId = base.correlation_id;
    const verdict = await this.verdictFor(
      { ...call, tool: call.name, args: call.args ?? {} },
      decision,
      correlationId,
    );
    const ctx = { decision, correlationId, approvalId: verdict.approvalId };
    if (verdict.kind === 'deny') throw accessDenied(verdict.reason, { ...ctx, rule: decision.rule });
    if (verdict.kind === 'respond') {
      throw new RpcError(ACCESS_DENIED, verdict.text, {
        [DECISION_META_KEY]: meta('review', decision.reason, { ...ctx, rule: decision.rule }),
      });
    }
    const released = await this.record({
      ...base,
      event: 'approval',
      status: 'released',
      ...(verdict.approvalId !== undefined && { approval_id: verdict.approvalId }),
      ...(call.args !== undefined && { args: call.args }),
    });
    if (!released) {
      const reason = `the audit log cannot be written, so the approved ${call.method} was not forwarded`;
      verdict.executed?.({ ok: false, error: reason });
      throw accessDenied(reason, { ...ctx, by: PORTCULLIS });
    }
    return this.execute(forward, undefined, base, decision, verdict.approvalId, verdict.executed, 'error');
  }

  /** Like decide(): text that is not Unicode and an engine that throws both deny. */
  private decideAccess(policy: CompiledPolicy, call: AccessCall, standing: Standing): Decision {
    const deny = (reason: string): Decision => ({
      decision: 'deny',
      rule: null,
      reason,
      policySha256: policy.sha256,
    });
    // As for tools: text that is not Unicode is never forwarded (see call()).
    if (findLoneSurrogate([call.name, call.args]) !== null)
      return deny(
        `the ${call.kind === 'prompt' ? 'prompt name or arguments are' : 'URI is'} not valid Unicode`,
      );
    try {
      return policy.evaluateAccess({
        kind: call.kind,
        name: call.name,
        server: call.server,
        agent: call.agent,
        ...(standing.trust !== undefined && { trust: standing.trust }),
      });
    } catch (error) {
      this.deps.log(`policy evaluation failed: ${errorText(error)}`);
      return deny('policy evaluation failed');
    }
  }

  /** The policy's decision; an engine that throws (it is pure and should not) denies the call. */
  private decide(
    policy: CompiledPolicy,
    call: GateCall,
    server: string,
    standing: Standing,
    correlationId: string,
  ): Decision {
    const observer = this.deps.observer;
    const started = observer === undefined ? 0 : performance.now();
    try {
      return policy.evaluate({
        tool: call.tool,
        server,
        agent: call.agent,
        args: call.args,
        ...(standing.trust !== undefined && { trust: standing.trust }),
      });
    } catch (error) {
      this.deps.log(`policy evaluation failed: ${errorText(error)}`, {
        level: 'error',
        correlation_id: correlationId,
      });
      return {
        decision: 'deny',
        rule: null,
        reason: 'policy evaluation failed',
        policySha256: policy.sha256,
      };
    } finally {
      if (observer !== undefined) {
        try {
          observer.evaluated((performance.now() - started) / 1000);
        } catch {
          // The metrics' failure is their own, never the call's.
        }
      }
    }
  }

  /** A call the policy sent to review: ask the reviewer, then deny, answer, or run what was approved. */
  private async reviewed(call: GateCall, base: CallBase, decision: Judged): Promise<Result> {
    const correlationId = base.correlation_id;
    const verdict = await this.verdictFor(call, decision, correlationId);
    const ctx = { decision, correlationId, approvalId: verdict.approvalId };
    if (verdict.kind !== 'run') decision.admission?.end(false);
    if (verdict.kind === 'deny') return denied(verdict.reason, { ...ctx, rule: decision.rule });
    if (verdict.kind === 'respond') {
      return {
        content: [{ type: 'text', text: verdict.text }],
        isError: true,
        _meta: { [DECISION_META_KEY]: meta('review', decision.reason, { ...ctx, rule: decision.rule }) },
      };
    }
    // Limits and budgets are booked only now that it runs: a budget spent meanwhile refuses it.
    const over = this.release(decision);
    if (over !== undefined) {
      await this.record({
        ...base,
        event: 'approval',
        status: 'refused',
        reason: over,
        ...(verdict.approvalId !== undefined && { approval_id: verdict.approvalId }),
      });
      verdict.executed?.({ ok: false, error: over });
      decision.admission?.end(false);
      return denied(over, { ...ctx, by: PORTCULLIS });
    }
    // What an approval releases is recorded before it runs, like every other forwarded call.
    const released = await this.record({
      ...base,
      event: 'approval',
      status: 'released',
      ...(verdict.approvalId !== undefined && { approval_id: verdict.approvalId }),
      ...(verdict.grantId !== undefined && { grant_id: verdict.grantId }),
      args: verdict.args,
    });
    if (!released) {
      const reason = 'the audit log cannot be written, so the approved call was not forwarded';
      verdict.executed?.({ ok: false, error: reason });
      decision.admission?.end(false);
      return denied(reason, { ...ctx, by: PORTCULLIS });
    }
    return this.execute(call, verdict.args, base, decision, verdict.approvalId, verdict.executed);
  }

  /** Books an approved call against its limits and budgets; a string: it may not run (a governor that throws refuses). */
  private release(decision: Judged): string | undefined {
    try {
      return decision.admission?.release();
    } catch (error) {
      this.deps.log(`limits check failed: ${errorText(error)}`, { level: 'error' });
      return 'the limits check failed, so the approved call was not forwarded';
    }
  }

  /** What the reviewer says of a call (a tool call, or a resource read or prompt get by `kind`); a failing reviewer denies. */
  private async verdictFor(
    call: Pick<GateCall, 'agent' | 'server' | 'tool' | 'args' | 'progress' | 'elicit'> & {
      kind?: ReviewRequest['kind'];
      signal?: AbortSignal | undefined;
    },
    decision: Judged,
    correlationId: string,
  ): Promise<ReviewVerdict> {
    try {
      return await this.deps.review.review({
        ...(call.kind !== undefined && { kind: call.kind }),
        agent: call.agent,
        server: call.server,
        tool: call.tool,
        args: call.args,
        rule: decision.rule,
        reason: decision.reason,
        policySha256: decision.policySha256,
        correlationId,
        canWait: call.progress !== undefined,
        onWaiting: call.progress ? (message) => call.progress?.(message) : undefined,
        signal: call.signal,
        approvers: decision.review?.approvers,
        approveIn: decision.review?.approveIn,
        grantable: decision.grantable === true,
        elicit: call.elicit,
      });
    } catch (error) {
      this.deps.log(`review failed: ${errorText(error)}`, { level: 'error', correlation_id: correlationId });
      return { kind: 'deny', cause: 'failed', reason: 'review failed' };
    }
  }

  private async execute(
    call: Pick<GateCall, 'forward'>,
    args: unknown,
    base: CallBase,
    decision: Judged,
    approvalId: string | undefined,
    executed?: (report: ExecutionReport) => void,
    /** How a blocked result is refused: a tool error result, or (methods without one) a JSON-RPC error. */
    refusal: 'result' | 'error' = 'result',
    /** When the gate took the call (performance.now()), for the overhead it added; undefined: not timed as overhead. */
    entered?: number | undefined,
  ): Promise<Result> {
    const started = performance.now();
    let answered: number | undefined;
    let outcome: Outcome = 'ok';
    let failure: string | null = null;
    let screened: ScreenedResult | undefined;
    let remembered: number | undefined;
    let refusedError: RpcError | undefined;
    try {
      const result = await call.forward(args);
      answered = performance.now();
      if ((result as CallToolResult).isError === true) outcome = 'tool_error';
      screened = this.screen(result, decision);
      if (screened.action !== 'blocked') {
        // The upstream's own result, not the masked one: a credential masked here still reaches the
        // agent by other roads (another client of the same agent, a person pasting it), and is known then.
        remembered = this.rememberFlow(base, result, decision);
        return screened.result;
      }
      const at = screened.findings.slice(0, 5).map((f) => f.pointer || '(the result)');
      if (screened.findings.length > 5) at.push(`${screened.findings.length - 5} more`);
      const reason = `the result holds credentials (${detectorsOf(screened.findings).join(', ')}) at ${at.join(', ')}, and results.secrets is block`;
      const refused = blocked(reason, {
        decision,
        rule: decision.rule,
        correlationId: base.correlation_id,
        approvalId,
      });
      if (refusal === 'result') return refused;
      const text = (refused.content[0] as { text: string }).text;
      refusedError = new RpcError(ACCESS_DENIED, text, refused._meta);
      throw refusedError;
    } catch (error) {
      // The upstream answered; only Portcullis refused what it said (recorded as result_action).
      answered ??= performance.now();
      if (error !== refusedError) {
        outcome = 'protocol_error';
        failure = errorText(error);
      }
      throw error;
    } finally {
      decision.admission?.end(true);
      const latency = Math.round((performance.now() - started) * 1000) / 1000;
      executed?.({ ok: outcome === 'ok', error: failure, durationMs: latency });
      await this.record({
        event: 'execution',
        outcome,
        latency_ms: latency,
        ...base,
        ...(approvalId !== undefined && { approval_id: approvalId }),
        ...(failure !== null && { error: failure }),
        // Where and by what, never the value: the log would otherwise keep what the client was spared.
        ...(screened?.action !== undefined && {
          result_action: screened.action,
          result_findings: screened.findings,
        }),
        ...(screened !== undefined &&
          screened.instructions.length > 0 && { result_instructions: screened.instructions }),
        // How many hashes a sensitive result left in the agent's flow memory (never what they are of).
        ...(remembered !== undefined && { flow_remembered: remembered }),
      });
      const observer = this.deps.observer;
      if (observer !== undefined && base.server !== null) {
        const upstream = ((answered ?? performance.now()) - started) / 1000;
        const overhead =
          entered === undefined ? undefined : Math.max(0, (performance.now() - entered) / 1000 - upstream);
        try {
          observer.forwarded(base.server, upstream, overhead);
        } catch {
          // The metrics' failure is their own, never the call's.
        }
      }
    }
  }

  /** The result as the policy lets the client see it; a scan that throws refuses the result (closed). */
  private screen(result: Result, decision: Judged): ScreenedResult {
    try {
      return screenResult(result, decision.results);
    } catch (error) {
      this.deps.log(`result scan failed: ${errorText(error)}`, { level: 'error' });
      return {
        result,
        findings: [{ pointer: '', detector: 'scan-failed', count: 0 }],
        action: 'blocked',
        instructions: [],
      };
    }
  }

  /** A call Portcullis denies before any rule is read: recorded, never forwarded. */
  private async refuse(
    base: CallBase,
    call: GateCall,
    reason: string,
    policySha256?: string,
  ): Promise<CallToolResult> {
    await this.record({
      ...base,
      event: 'decision',
      decision: 'deny',
      rule: null,
      reason,
      ...(policySha256 !== undefined && { policy_sha256: policySha256 }),
      args: call.args,
    });
    return denied(reason, { correlationId: base.correlation_id, by: PORTCULLIS });
  }

  /** Appends to the audit log; false (and a log line) when it cannot be written. */
  private async record(event: AuditEvent): Promise<boolean> {
    try {
      await this.deps.audit.append(event);
      return true;
    } catch (error) {
      const id = event.correlation_id;
      this.deps.log(`AUDIT LOG WRITE FAILED, calls are denied until it recovers: ${errorText(error)}`, {
        level: 'error',
        ...(typeof id === 'string' && { correlation_id: id }),
      });
      return false;
    }
  }
}

/**
 * A call that carries a sensitive value elsewhere: never widened (a deny stays a deny), an allow
 * becomes the flow action, a review stays a review with the flow named (or becomes a deny when the
 * flow action is deny). The deciding rule is kept: its results settings still apply once approved.
 */
function withFlow(decision: Decision, flow: FlowFinding | undefined, settings: FlowSettings): Decision {
  if (flow === undefined || decision.decision === 'deny') return decision;
  const reason = flowReason(flow);
  if (decision.decision === 'review' && settings.action === 'review')
    return { ...decision, reason: `${decision.reason}; ${reason}` };
  return { ...decision, decision: settings.action, reason };
}

/** The flow finding as the decision record carries it. */
function flowRecord(flow: FlowFinding): Record<string, unknown> {
  return {
    source_server: flow.server,
    source_tool: flow.tool,
    source_rule: flow.rule,
    age_s: Math.round(flow.ageMs / 1000),
    ...(flow.unchecked && { unchecked: true }),
    ...(flow.failed && { failed: true }),
  };
}

/** Names a denial Portcullis made itself, before or beside any rule. */
const PORTCULLIS = 'Portcullis';

interface Denial {
  correlationId: string;
  /** The rule that decided; null or absent: no rule (the default, or Portcullis itself). */
  rule?: string | null | undefined;
  decision?: Decision | undefined;
  approvalId?: string | undefined;
  /** Who denied, for the text; defaults to the rule, or the policy default when no rule matched. */
  by?: string | undefined;
}

function meta(decision: string, reason: string, d: Denial): Record<string, unknown> {
  return {
    decision,
    rule: d.rule ?? null,
    reason,
    policy_sha256: d.decision?.policySha256 ?? null,
    correlation_id: d.correlationId,
    ...(d.approvalId !== undefined && { approval_id: d.approvalId }),
  };
}

/** The result a client gets for a call that ran but whose result held credentials the policy blocks. */
function blocked(reason: string, d: Denial): CallToolResult {
  const rule = d.rule ?? null;
  const by = rule === null ? 'Portcullis, policy results setting' : `Portcullis, rule "${rule}"`;
  return {
    content: [{ type: 'text', text: `Result blocked by ${by}: ${reason}` }],
    isError: true,
    _meta: { [DECISION_META_KEY]: meta('block', reason, d) },
  };
}

/** The error a client gets for a resource or prompt request that was not forwarded. */
function accessDenied(reason: string, d: Denial): RpcError {
  const text = denied(reason, d).content[0] as { text: string };
  return new RpcError(ACCESS_DENIED, text.text, { [DECISION_META_KEY]: meta('deny', reason, d) });
}

/** The result a client gets for a call that did not run: a tool error naming the rule and its reason. */
function denied(reason: string, d: Denial): CallToolResult {
  const rule = d.rule ?? null;
  const by =
    d.by ?? (rule === null ? 'Portcullis, policy default (no rule matched)' : `Portcullis, rule "${rule}"`);
  return {
    content: [{ type: 'text', text: `Denied by ${by}: ${reason}` }],
    isError: true,
    _meta: { [DECISION_META_KEY]: meta('deny', reason, d) },
  };
}
