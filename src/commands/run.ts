// `portcullis run`: parse the run options, start the proxy, and keep it up until the client or a signal stops it.

import type { Readable, Writable } from 'node:stream';
import { type App, startApp } from '../app.js';
import { deriveServerName, isLoopback, PolicyLoadError, StartRefusedError } from '../proxy/index.js';
import { type LogFormat, lineLog } from '../util/index.js';
import { resolveDataDir } from './data-dir.js';
import { EXIT_CHECK_FAILED, EXIT_OK, type Io, UsageError } from './io.js';

/** The options of `portcullis run` as commander hands them over (ports already parsed by program.ts). */
export interface RunOptions {
  /** Policy file; default ./policy.yml. */
  policy?: string | undefined;
  /** Serve Streamable HTTP on this port instead of stdio (0 picks a free one). */
  http?: number | undefined;
  /** Address to bind in HTTP mode; default 127.0.0.1. */
  host?: string | undefined;
  /** Serve keyless clients on a non-loopback address (refused by default). */
  allowAnonymous?: boolean | undefined;
  /** Web UI port, 0 for a free one, or "off"; default 8787. */
  ui?: number | 'off' | undefined;
  /** Address the web UI binds; default 127.0.0.1. */
  uiHost?: string | undefined;
  /** Default ~/.portcullis. */
  dataDir?: string | undefined;
  /** The calling agent's id (stdio; HTTP clients without a key when the policy has no keyed agents). */
  agent?: string | undefined;
  /** Name of the `-- COMMAND` upstream; default derived from the command. */
  name?: string | undefined;
  /** The upstream command and its arguments (everything after `--`). */
  command?: string[] | undefined;
  /** stderr lines as text (default, `portcullis: …`) or one JSON object per line. */
  logFormat?: LogFormat | undefined;
}

/** Process-level hooks, replaceable in tests. */
export interface RunControl {
  /** Stops the proxy when aborted (in addition to SIGINT / SIGTERM). */
  signal?: AbortSignal | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  stdin?: Readable | undefined;
  stdout?: Writable | undefined;
  /** Called once the proxy serves (tests read the URL from it). */
  onReady?: ((app: App) => void) | undefined;
}

/** Runs the proxy; resolves with the exit code once it has stopped. */
export async function runProxy(options: RunOptions, io: Io, control: RunControl = {}): Promise<number> {
  const command = options.command ?? [];
  if (options.name !== undefined && command.length === 0) {
    throw new UsageError('--name names the `-- COMMAND` upstream; there is no command after --');
  }
  if (options.name !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(options.name)) {
    throw new UsageError('--name may contain only letters, digits, "_", "." and "-"');
  }
  const [program, ...args] = command;
  const http = options.http;
  const ui = options.ui ?? 8787;
  const host = options.host ?? '127.0.0.1';
  const stdio = http === undefined;
  const json = options.logFormat === 'json';
  const log = lineLog(json ? 'json' : 'text', io.err);

  let app: App;
  try {
    app = await startApp({
      policyFile: options.policy ?? 'policy.yml',
      http: http === undefined ? undefined : { host, port: http },
      stdio: stdio
        ? { stdin: control.stdin ?? process.stdin, stdout: control.stdout ?? process.stdout }
        : undefined,
      ui,
      uiHost: options.uiHost,
      dataDir: resolveDataDir(options.dataDir),
      agent: options.agent ?? (stdio ? 'local' : 'anonymous'),
      allowAnonymous: options.allowAnonymous === true,
      command:
        program === undefined
          ? undefined
          : { name: options.name ?? deriveServerName(program, args), command: program, args },
      env: control.env,
      loginLink: !json,
      log,
    });
  } catch (error) {
    if (error instanceof PolicyLoadError) {
      // JSON logs stay one object per line: the problems go into the same line.
      if (json) log([error.message, ...error.problems].join('\n'), { level: 'error' });
      else {
        io.err(error.message);
        for (const problem of error.problems) io.err(problem);
      }
      return EXIT_CHECK_FAILED;
    }
    if (error instanceof StartRefusedError) throw new UsageError(error.message);
    throw error;
  }

  if (app.url) {
    const reachable = isLoopback(host) ? '' : ', reachable from other hosts';
    log(`MCP endpoint ${app.url} (listening on ${app.bound}${reachable})`);
  }
  log(`policy ${app.policy.file} (sha256 ${app.policy.current.sha256.slice(0, 12)})`);
  control.onReady?.(app);

  const stop = (): void => {
    void app.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  control.signal?.addEventListener('abort', stop, { once: true });
  try {
    await app.done;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    control.signal?.removeEventListener('abort', stop);
    await app.close();
  }
  return EXIT_OK;
}
