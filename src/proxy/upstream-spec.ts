// Turns `servers:` entries and the `-- COMMAND` upstream into concrete, env-expanded upstream specs.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { durationMs, remotePlainHttpHost, type ServerConfig } from '../policy/index.js';
import { expandEnv, expandEnvMap } from './env.js';
import { UpstreamConfigError } from './errors.js';

/** Who shares one connection to an upstream (`share:`); see upstream-pool.ts. */
export type ShareMode = 'per_session' | 'per_agent' | 'shared';

/** How a connection is shared and when an unused one stops; part of the spec, so a change restarts it. */
interface SharingSpec {
  share?: ShareMode | undefined;
  /** `idle_stop`: how long a pooled connection without sessions keeps running. */
  idleStopMs?: number | undefined;
}

export interface StdioUpstreamSpec extends SharingSpec {
  kind: 'stdio';
  name: string;
  command: string;
  args: string[];
  /** The complete environment of the child (the SDK would otherwise pass only a minimal one). */
  env: Record<string, string>;
  cwd: string;
}

export interface HttpUpstreamSpec extends SharingSpec {
  kind: 'http';
  name: string;
  url: string;
  headers: Record<string, string>;
  /** PEM text of `ca_file`: certificate authorities trusted besides the system ones. */
  ca?: string | undefined;
}

export type UpstreamSpec = StdioUpstreamSpec | HttpUpstreamSpec;

/** The `-- COMMAND ARGS` upstream given on the command line. */
export interface CommandUpstream {
  name: string;
  command: string;
  args: string[];
}

const INTERPRETERS = new Set([
  'node',
  'npx',
  'bunx',
  'bun',
  'deno',
  'tsx',
  'python',
  'python3',
  'uv',
  'uvx',
  'pipx',
  'pnpm',
  'yarn',
  'docker',
]);
const SUBCOMMANDS = new Set(['run', 'exec', 'dlx', 'x', '-m']);

/** A readable upstream name from a command line: `node payments-server.js` -> "payments-server". */
export function deriveServerName(command: string, args: readonly string[]): string {
  let token = command;
  if (INTERPRETERS.has(path.basename(command).replace(/\.(exe|cmd)$/i, ''))) {
    token = args.find((arg) => !arg.startsWith('-') && !SUBCOMMANDS.has(arg)) ?? command;
  }
  const base = path.basename(token.replace(/@[^/@]*$/, '')).replace(/\.(m?[jt]s|cjs|py|exe)$/i, '');
  const name = base.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
  return name === '' ? 'upstream' : name;
}

/** A command with a path separator is taken relative to `cwd`; a bare name is looked up on PATH. */
function resolveCommand(command: string, cwd: string): string {
  return command.includes('/') || command.includes('\\') ? path.resolve(cwd, command) : command;
}

function isHttp(config: ServerConfig): config is Extract<ServerConfig, { url: string }> {
  return 'url' in config;
}

export interface ResolvedUpstreams {
  specs: UpstreamSpec[];
  /** Upstreams that cannot start (missing variables, bad URLs); the others still serve. */
  errors: UpstreamConfigError[];
}

/**
 * Builds the upstream list. `servers:` children get a minimal environment plus their own `env`
 * (least privilege); the `-- COMMAND` child inherits the proxy's environment, because a client
 * config that wraps a server puts that server's variables on the proxy.
 */
export function resolveUpstreams(
  servers: Readonly<Record<string, ServerConfig>>,
  policyDir: string,
  command: CommandUpstream | undefined,
  env: NodeJS.ProcessEnv,
): ResolvedUpstreams {
  const specs: UpstreamSpec[] = [];
  const errors: UpstreamConfigError[] = [];
  if (command) {
    if (Object.hasOwn(servers, command.name)) {
      errors.push(
        new UpstreamConfigError(
          `upstream name "${command.name}" is used by -- COMMAND and by servers: (choose another with --name)`,
          command.name,
        ),
      );
    } else {
      specs.push({
        kind: 'stdio',
        name: command.name,
        command: command.command,
        args: [...command.args],
        env: definedOnly(env),
        cwd: process.cwd(),
      });
    }
  }
  for (const [name, config] of Object.entries(servers)) {
    const where = `servers.${name}`;
    try {
      if (isHttp(config)) {
        const url = expandEnv(config.url, env, `${where}.url`);
        if (!URL.canParse(url)) throw new UpstreamConfigError(`${where}.url: not a URL`);
        // The policy check saw `${VAR}` hosts unexpanded: this is where they are judged.
        const host = remotePlainHttpHost(url);
        if (host !== undefined && config.insecure !== true)
          throw new UpstreamConfigError(
            `${where}.url: plain http:// to ${host}, which is not this machine: use https://, or set insecure: true`,
          );
        specs.push({
          kind: 'http',
          name,
          url,
          headers: expandEnvMap(config.headers, env, `${where}.headers`),
          ...(config.ca_file !== undefined && { ca: readCa(path.resolve(policyDir, config.ca_file), where) }),
          ...sharing(config),
        });
      } else {
        // The child's working directory is the policy file's folder unless `cwd` says otherwise (relative
        // to that folder), so a policy and the server beside it work from wherever the proxy is started.
        const cwd = path.resolve(policyDir, expandEnv(config.cwd ?? '.', env, `${where}.cwd`));
        specs.push({
          kind: 'stdio',
          name,
          command: resolveCommand(expandEnv(config.command, env, `${where}.command`), cwd),
          // Passed as written once expanded: a relative argument is the child's to resolve, in `cwd`.
          args: (config.args ?? []).map((arg, i) => expandEnv(arg, env, `${where}.args[${i}]`)),
          env: { ...getDefaultEnvironment(), ...expandEnvMap(config.env, env, `${where}.env`) },
          cwd,
          ...sharing(config),
        });
      }
    } catch (error) {
      if (error instanceof UpstreamConfigError) errors.push(new UpstreamConfigError(error.message, name));
      else throw error;
    }
  }
  return { specs, errors };
}

function sharing(config: ServerConfig): SharingSpec {
  return {
    ...(config.share !== undefined && { share: config.share }),
    ...(config.idle_stop !== undefined && { idleStopMs: durationMs(config.idle_stop) }),
  };
}

/** Read when the upstream is resolved (start and every reload), so a replaced file counts and a bad one is named. */
function readCa(file: string, where: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UpstreamConfigError(
      `${where}.ca_file: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  try {
    createSecureContext({ ca: pem });
  } catch {
    throw new UpstreamConfigError(`${where}.ca_file: ${file} holds no PEM certificate`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new UpstreamConfigError(`${where}.ca_file: ${file} holds no PEM certificate`);
  return pem;
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * The warning for a policy with `servers:` run with a `-- COMMAND` too: both start, so there are
 * several upstreams, names are prefixed (unless naming.prefix says never) and the plain names the
 * policy's rules and the client expect are refused. Undefined when only one of them applies.
 */
export function serversAndCommandWarning(
  servers: Readonly<Record<string, unknown>>,
  prefix: 'auto' | 'always' | 'never',
  separator: string,
  command: CommandUpstream | undefined,
): string | undefined {
  const names = Object.keys(servers);
  if (!command || names.length === 0) return undefined;
  const all = [...names, command.name];
  const effect =
    prefix === 'never'
      ? 'tools two of them list are ambiguous and refused'
      : `every tool is listed as SERVER${separator}TOOL (${all.map((n) => `${n}${separator}...`).join(', ')}) and calls to plain tool names are denied`;
  return (
    `servers: (${names.join(', ')}) and the -- COMMAND (${command.name}) both apply: ` +
    `the proxy runs ${all.length} upstreams, so ${effect}; use one of them (drop servers: from the file, or the -- COMMAND)`
  );
}

/** Same spec, same running upstream: used to decide what a policy reload restarts. */
export function specKey(spec: UpstreamSpec): string {
  return JSON.stringify(spec);
}
