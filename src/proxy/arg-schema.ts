// Checks tools/call arguments against the tool's own inputSchema, with one compiled validator per definition.

import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { LRUCache } from 'lru-cache';
import type { Decision, InputSchemaSettings } from '../policy/index.js';
import { canonicalJson, sha256Hex } from '../util/index.js';
import { errorText } from './errors.js';

/** A tool's inputSchema as an upstream listed it, with the hash that names this definition. */
export interface ToolInputSchema {
  schema: unknown;
  /** SHA-256 of the schema's canonical JSON: a changed definition gets a validator of its own. */
  sha256: string;
}

/** Why the arguments of one call are not what the tool declares; the reason names a path, never a value. */
export type SchemaFinding =
  /** The schema itself refuses the arguments (a wrong type, a missing required property). */
  | { kind: 'mismatch'; reason: string }
  /** The schema accepts them, but they carry a property it does not declare. */
  | { kind: 'extra'; reason: string }
  /** The schema cannot be compiled (or there is none), so nothing was checked. */
  | { kind: 'invalid'; reason: string };

/** The inputSchema of one item of a tools/list answer, or undefined when it has none. */
export function toolInputSchema(item: unknown): ToolInputSchema | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const schema = (item as { inputSchema?: unknown }).inputSchema;
  if (schema === undefined) return undefined;
  try {
    return { schema, sha256: sha256Hex(canonicalJson(schema)) };
  } catch {
    // No JSON form (cannot come off the wire, but the hash must not throw into a listing).
    return undefined;
  }
}

type Compiled =
  | { ok: true; declared: ValidateFunction; closed: ValidateFunction | undefined }
  | { ok: false; error: string };

/** Enough definitions for many upstreams; a definition pushed out is compiled again when called. */
const DEFAULT_MAX = 1000;
/** The longest path or compile error a reason carries: a reason is one line in the audit log. */
const MAX_DETAIL = 200;

/**
 * Compiled validators, process-wide, keyed by server, tool and the definition's hash. Upstream
 * schemas are the server's and often sloppy, so ajv runs with strict: false (unknown keywords are
 * ignored), formats are not asserted, and remote $refs are never fetched (such a schema does not
 * compile). Ajv never changes the arguments here: no defaults, no coercion, no removal.
 */
export class ArgumentSchemas {
  private readonly cache: LRUCache<string, Compiled>;
  private readonly log: (message: string) => void;

  constructor(options: { log(message: string): void; max?: number }) {
    this.log = options.log;
    this.cache = new LRUCache({ max: options.max ?? DEFAULT_MAX });
  }

  /** Undefined when the arguments match; otherwise the first problem found. */
  check(
    server: string,
    tool: string,
    input: ToolInputSchema | undefined,
    args: unknown,
  ): SchemaFinding | undefined {
    if (input === undefined) return { kind: 'invalid', reason: `tool "${tool}" lists no inputSchema` };
    const compiled = this.compiled(server, tool, input);
    if (!compiled.ok) {
      return {
        kind: 'invalid',
        reason: `the inputSchema of tool "${tool}" cannot be compiled: ${compiled.error}`,
      };
    }
    // No arguments at all is an empty object, as the SDK's servers read it; `null` is not "none".
    const value = args === undefined ? {} : args;
    if (!compiled.declared(value)) {
      return {
        kind: 'mismatch',
        reason: `the arguments do not match the inputSchema of tool "${tool}": ${describe(compiled.declared.errors)}`,
      };
    }
    if (compiled.closed && !compiled.closed(value)) {
      return {
        kind: 'extra',
        reason: `the arguments carry a property the inputSchema of tool "${tool}" does not declare: ${describe(compiled.closed.errors)}`,
      };
    }
    return undefined;
  }

  private compiled(server: string, tool: string, input: ToolInputSchema): Compiled {
    const key = `${server}\u0000${tool}\u0000${input.sha256}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const compiled = compile(input.schema);
    // Once per definition (while it stays cached): an exotic schema must not flood the log.
    if (!compiled.ok) {
      this.log(
        `the inputSchema of tool "${tool}" on upstream "${server}" cannot be compiled: ${compiled.error}`,
      );
    }
    this.cache.set(key, compiled);
    return compiled;
  }
}

function compile(schema: unknown): Compiled {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return { ok: false, error: 'it is not a JSON object' };
  }
  try {
    const declared = newAjv(schema).compile(structuredClone(schema));
    const closedSchema = closeObjects(structuredClone(schema) as Record<string, unknown>);
    const closed = closedSchema === undefined ? undefined : newAjv(schema).compile(closedSchema);
    return { ok: true, declared, closed };
  } catch (error) {
    return { ok: false, error: clip(errorText(error)) };
  }
}

/** A fresh instance per definition: two servers' schemas with the same $id must not collide. */
function newAjv(schema: object): Ajv {
  const options: Options = { strict: false, allErrors: false, validateFormats: false, logger: false };
  const dialect = (schema as { $schema?: unknown }).$schema;
  if (typeof dialect === 'string' && dialect.includes('2020-12')) return new Ajv2020(options);
  if (typeof dialect === 'string' && dialect.includes('2019-09')) return new Ajv2019(options);
  return new Ajv(options);
}

/** Where a subschema is one alternative or part of several: closing it would refuse valid arguments. */
const COMBINATORS = [
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'dependentSchemas',
  'dependencies',
];
/** An object subschema that already says what happens to other properties, or shares the say with another. */
const DECIDES_OTHERS = [
  'additionalProperties',
  'patternProperties',
  'unevaluatedProperties',
  '$ref',
  ...COMBINATORS,
];

/**
 * The schema with `additionalProperties: false` on every object subschema that names its
 * properties and says nothing about others: where JSON Schema lets an undeclared property pass,
 * Portcullis wants to hear of it. Alternatives (anyOf and friends) are left open, and so are the
 * definitions when a $ref sits inside one; undefined when nothing was closed (no second check).
 */
function closeObjects(schema: Record<string, unknown>): Record<string, unknown> | undefined {
  let closedAny = false;
  const refInCombinator = hasRefInCombinator(schema, false);
  const visit = (node: unknown): void => {
    if (!isPlainObject(node)) return;
    if (isPlainObject(node.properties) && !DECIDES_OTHERS.some((k) => k in node)) {
      node.additionalProperties = false;
      closedAny = true;
    }
    if (isPlainObject(node.properties)) for (const sub of Object.values(node.properties)) visit(sub);
    if (Array.isArray(node.items)) node.items.forEach(visit);
    else visit(node.items);
    if (Array.isArray(node.prefixItems)) node.prefixItems.forEach(visit);
    if (!refInCombinator) {
      for (const defs of [node.$defs, node.definitions]) {
        if (isPlainObject(defs)) for (const sub of Object.values(defs)) visit(sub);
      }
    }
  };
  visit(schema);
  return closedAny ? schema : undefined;
}

function hasRefInCombinator(node: unknown, inside: boolean): boolean {
  if (Array.isArray(node)) return node.some((n) => hasRefInCombinator(n, inside));
  if (!isPlainObject(node)) return false;
  if (inside && '$ref' in node) return true;
  return Object.entries(node).some(([key, sub]) =>
    hasRefInCombinator(sub, inside || COMBINATORS.includes(key)),
  );
}

/** The first ajv error as "<path> <message>": the path names keys the client sent, never a value. */
function describe(errors: ErrorObject[] | null | undefined): string {
  const error = errors?.[0];
  if (!error) return 'the schema refuses them';
  const at = error.instancePath === '' ? 'at the top level' : `at ${error.instancePath}`;
  if (error.keyword === 'additionalProperties') {
    const name = String((error.params as { additionalProperty?: unknown }).additionalProperty);
    return clip(`${JSON.stringify(name)} ${at}`);
  }
  return clip(`${at}: ${error.message ?? error.keyword}`);
}

function clip(text: string): string {
  return text.length <= MAX_DETAIL ? text : `${text.slice(0, MAX_DETAIL)}…`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What the policy's `input_schema` settings make of a finding (the gate and `policy explain` agree). */
export interface SchemaAction {
  action: 'deny' | 'review';
  reason: string;
}

/** undefined: the finding changes nothing (no finding, or its setting is allow or skip). */
export function schemaActionOf(
  settings: InputSchemaSettings,
  finding: SchemaFinding | undefined,
): SchemaAction | undefined {
  if (!settings.check || finding === undefined) return undefined;
  const action =
    finding.kind === 'mismatch'
      ? settings.onMismatch
      : finding.kind === 'extra'
        ? settings.extraProperties
        : settings.onInvalidSchema;
  if (action === 'allow' || action === 'skip') return undefined;
  return { action, reason: finding.reason };
}

/**
 * A schema finding that asks for review makes an allowed call reviewed and adds its reason to a
 * reviewed one; a policy deny stays a deny (the stricter of the two wins).
 */
export function withSchemaReview(decision: Decision, schema: SchemaAction | undefined): Decision {
  if (schema?.action !== 'review' || decision.decision === 'deny') return decision;
  if (decision.decision === 'review') return { ...decision, reason: `${decision.reason}; ${schema.reason}` };
  return { decision: 'review', rule: null, reason: schema.reason, policySha256: decision.policySha256 };
}
