// The command line as a value: arguments to commands, with all output through an Io (src/cli.ts runs it).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { LOG_FORMATS, PACKAGE_VERSION } from '../util/index.js';
import { DEFAULT_DATA_DIR, resolveDataDir } from './data-dir.js';
import { EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, type Io, UsageError } from './io.js';

/**
 * A command's function whose module is loaded when the command runs, not when the CLI starts:
 * every command module pulls in its own dependencies (the proxy and the MCP SDK, SQLite, the
 * secret rules), and loading them all made even `portcullis --version` take over a second.
 */
function lazy<M, K extends keyof M>(
  load: () => Promise<M>,
  name: K,
): M[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never {
  const call = async (...args: unknown[]) => {
    const fn = (await load())[name] as (...args: unknown[]) => unknown;
    return fn(...args);
  };
  return call as never;
}

/** Each command module, loaded on first use. */
const commands = {
  agents: () => import('./agents.js'),
  approvals: () => import('./approvals.js'),
  audit: () => import('./audit.js'),
  explain: () => import('./explain.js'),
  grants: () => import('./grants.js'),
  incidents: () => import('./incidents.js'),
  pins: () => import('./pins.js'),
  policy: () => import('./policy.js'),
  reviewers: () => import('./reviewers.js'),
  run: () => import('./run.js'),
};
const agentsAdd = lazy(commands.agents, 'agentsAdd');
const agentsList = lazy(commands.agents, 'agentsList');
const agentsRevoke = lazy(commands.agents, 'agentsRevoke');
const agentsRotate = lazy(commands.agents, 'agentsRotate');
const agentsSetTrust = lazy(commands.agents, 'agentsSetTrust');
const agentsShow = lazy(commands.agents, 'agentsShow');
const approvalsApprove = lazy(commands.approvals, 'approvalsApprove');
const approvalsDeny = lazy(commands.approvals, 'approvalsDeny');
const approvalsList = lazy(commands.approvals, 'approvalsList');
const auditTail = lazy(commands.audit, 'auditTail');
const auditVerify = lazy(commands.audit, 'auditVerify');
const policyExplain = lazy(commands.explain, 'policyExplain');
const grantsList = lazy(commands.grants, 'grantsList');
const grantsRevoke = lazy(commands.grants, 'grantsRevoke');
const incidentsAck = lazy(commands.incidents, 'incidentsAck');
const incidentsList = lazy(commands.incidents, 'incidentsList');
const incidentsReinstate = lazy(commands.incidents, 'incidentsReinstate');
const incidentsResolve = lazy(commands.incidents, 'incidentsResolve');
const incidentsShow = lazy(commands.incidents, 'incidentsShow');
const incidentsSuspend = lazy(commands.incidents, 'incidentsSuspend');
const pinsAccept = lazy(commands.pins, 'pinsAccept');
const pinsDiff = lazy(commands.pins, 'pinsDiff');
const pinsList = lazy(commands.pins, 'pinsList');
const pinsReject = lazy(commands.pins, 'pinsReject');
const pinsReset = lazy(commands.pins, 'pinsReset');
const policyMigrate = lazy(commands.policy, 'policyMigrate');
const policyTest = lazy(commands.policy, 'policyTest');
const policyValidate = lazy(commands.policy, 'policyValidate');
const reviewersAdd = lazy(commands.reviewers, 'reviewersAdd');
const reviewersChange = lazy(commands.reviewers, 'reviewersChange');
const reviewersList = lazy(commands.reviewers, 'reviewersList');
const reviewersPasswd = lazy(commands.reviewers, 'reviewersPasswd');
const reviewersToken = lazy(commands.reviewers, 'reviewersToken');
const runProxy = lazy(commands.run, 'runProxy');

const SUBCOMMANDS = new Set([
  'run',
  'policy',
  'audit',
  'pins',
  'approvals',
  'agents',
  'incidents',
  'reviewers',
  'grants',
  'help',
]);

/** `portcullis [options] -- COMMAND ...` with no subcommand means `run`. */
export function normaliseArgv(args: readonly string[]): string[] {
  const first = args[0];
  if (first === undefined) return [];
  if (
    SUBCOMMANDS.has(first) ||
    first === '--help' ||
    first === '-h' ||
    first === '--version' ||
    first === '-V'
  ) {
    return [...args];
  }
  return ['run', ...args];
}

function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('portcullis')
    .description(
      'A transparent firewall for MCP tool calls. Every tools/call is checked against a YAML policy;\n' +
        'risky calls wait for a person to approve them; every decision goes to a hash-chained audit log.',
    )
    .version(PACKAGE_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  portcullis policy validate policy.yml          check a policy (errors as FILE:LINE:COL)
  portcullis policy explain policy.yml --tool refunds.refund --args '{"amount_cents":20000,"op":"refund"}'
  portcullis --policy policy.yml -- node server.js   put the firewall in front of one stdio server

Exit codes: 0 success, 1 a check failed, 2 usage error.`,
    );

  program
    .command('run')
    .description('run the firewall: serve MCP downstream, forward allowed calls to the upstream servers')
    .argument('[command...]', 'after --: one stdio upstream server to start, with its arguments')
    .option('--policy <file>', 'policy file', 'policy.yml')
    .option('--http <port>', 'serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio', portNumber)
    .option('--host <addr>', 'address to bind in HTTP mode', '127.0.0.1')
    .option(
      '--allow-anonymous',
      'serve clients without a key on an address other hosts can reach (refused by default)',
    )
    .option('--ui <port|off>', 'approvals web UI port (0 = a free port, off = none)', uiPort, 8787)
    .option(
      '--ui-host <addr>',
      'address the approvals UI binds (0.0.0.0 in a container, so a port mapping reaches it)',
      '127.0.0.1',
    )
    .option('--data-dir <dir>', 'approvals database, audit log and UI token', DEFAULT_DATA_DIR)
    .option('--agent <id>', 'agent id of the stdio client (its trust comes from the policy agents:)')
    .option('--name <name>', 'server name of the -- COMMAND upstream (default: derived from the command)')
    .addOption(
      new Option('--log-format <format>', 'stderr log lines: text, or one JSON object per line')
        .choices(LOG_FORMATS)
        .default('text'),
    )
    .addHelpText(
      'after',
      `
In stdio mode only MCP messages go to stdout; logs go to stderr.
Example: portcullis run --policy policy.yml -- npx -y @modelcontextprotocol/server-filesystem ~/projects`,
    )
    .action(async (command: string[], options) =>
      setExit(await runProxy({ ...options, command: command.length > 0 ? command : undefined }, io)),
    );

  const policy = program.command('policy').description('check, test, explain and migrate policy files');
  policy
    .command('validate')
    .argument('<file>', 'policy YAML file')
    .argument(
      '[command...]',
      'after --: the -- COMMAND you will run it with (warns when servers: applies too)',
    )
    .description('validate a policy; prints each problem as FILE:LINE:COL: message')
    .action(async (file: string, command: string[]) =>
      setExit(await policyValidate(file, io, command.length > 0 ? command : undefined)),
    );
  policy
    .command('test')
    .argument('<file>', 'policy YAML file')
    .description("run the policy's inline tests: section")
    .action(async (file: string) => setExit(await policyTest(file, io)));
  policy
    .command('explain')
    .argument('<file>', 'policy YAML file')
    .argument(
      '[command...]',
      'after --: the stdio upstream as `run` takes it (server-filesystem DIRs become roots)',
    )
    .description('show which rule decides a call, resource read or prompt, and why each earlier rule did not')
    .option('--tool <name>', 'tool name as the upstream lists it')
    .option('--resource <uri>', 'a resource URI (resources/read) instead of a tool')
    .option('--prompt <name>', 'a prompt name (prompts/get) instead of a tool')
    .option('--server <name>', 'upstream server name (default with -- COMMAND: derived from it, as run does)')
    .option('--agent <id>', 'agent id (its trust comes from the policy agents:)')
    .addOption(
      new Option('--trust <level>', 'override the agent trust').choices(['low', 'medium', 'high', 'admin']),
    )
    .option('--args <json>', 'the call arguments as a JSON object')
    .option(
      '--schema <file>',
      "JSON file with the tool's inputSchema (or its whole definition) to check --args against",
    )
    .option(
      '--data-dir <dir>',
      "check --args against the tool's pinned definition in DIR/pins/SERVER.json; read the budgets' use from DIR/governance.db",
    )
    .option('--json', 'print one JSON object: {decision, rule, reason, trace, containment?, schema}')
    .action(async (file: string, command: string[], options) =>
      setExit(
        await policyExplain(
          file,
          {
            ...options,
            dataDir: options.dataDir === undefined ? undefined : resolveDataDir(options.dataDir),
            command: command.length > 0 ? command : undefined,
          },
          io,
        ),
      ),
    );
  policy
    .command('migrate')
    .argument('<file>', 'AegisMCP version 1 policy')
    .description('print the version 2 equivalent of a version 1 (AegisMCP) policy')
    .action(async (file: string) => setExit(await policyMigrate(file, io)));

  const audit = program.command('audit').description('verify and read the hash-chained audit log');
  audit
    .command('verify')
    .argument('[path]', 'an audit file or directory (default: <data-dir>/audit)')
    .description('check every hash chain and checkpoint; exit 1 naming the first broken seq')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(async (path: string | undefined, options: { dataDir: string }) =>
      setExit(await auditVerify({ path, dataDir: resolveDataDir(options.dataDir) }, io)),
    );
  audit
    .command('tail')
    .description('print the latest audit records readably')
    .option('-n <count>', 'how many records', wholeNumber, 20)
    .option('--follow', 'keep printing new records until interrupted')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(async (options: { n: number; follow?: boolean; dataDir: string }) => {
      const stop = new AbortController();
      const abort = (): void => stop.abort();
      process.once('SIGINT', abort);
      try {
        setExit(
          await auditTail(
            {
              dataDir: resolveDataDir(options.dataDir),
              n: options.n,
              follow: options.follow === true,
              signal: stop.signal,
            },
            io,
          ),
        );
      } finally {
        process.off('SIGINT', abort);
      }
    });

  const pins = program
    .command('pins')
    .description(
      'the tool definitions each server is trusted with (pinned on first use), and changed ones held',
    );
  const dataDir = (command: Command): Command =>
    command.option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR);
  dataDir(
    pins
      .command('list')
      .argument('[server]', 'one server (default: all)')
      .option('--full', 'print whole hashes, as a pin: in the policy takes them')
      .description('print pins and held definitions'),
  ).action(async (server: string | undefined, options: { dataDir: string; full?: boolean }) =>
    setExit(
      await pinsList({ dataDir: resolveDataDir(options.dataDir), server, full: options.full === true }, io),
    ),
  );
  dataDir(
    pins
      .command('diff')
      .argument('<server>')
      .argument('[tool]')
      .description('show each held definition against its pin; exit 1 when nothing is held'),
  ).action(async (server: string, tool: string | undefined, options: { dataDir: string }) =>
    setExit(await pinsDiff({ dataDir: resolveDataDir(options.dataDir), server, tool }, io)),
  );
  for (const [verb, run, what] of [
    ['accept', pinsAccept, 'pin the held definition of TOOL (audited)'],
    ['reject', pinsReject, 'keep TOOL held and its new definition rejected (audited)'],
  ] as const) {
    dataDir(pins.command(verb).argument('<server>').argument('<tool>').description(what)).action(
      async (server: string, tool: string, options: { dataDir: string }) =>
        setExit(await run({ dataDir: resolveDataDir(options.dataDir), server, tool }, io)),
    );
  }
  dataDir(
    pins
      .command('reset')
      .argument('<server>')
      .description("forget a server's pins: its next listing is trusted anew (audited)"),
  ).action(async (server: string, options: { dataDir: string }) =>
    setExit(await pinsReset({ dataDir: resolveDataDir(options.dataDir), server }, io)),
  );

  const approvals = program
    .command('approvals')
    .description('calls waiting for a person, decided from the command line (the same queue as the UI)');
  dataDir(
    approvals
      .command('list')
      .description('print the pending approvals: id, agent, tool, rule, reason, arguments, time left')
      .option('--all', 'the latest 50 approvals of every status, with who decided')
      .option('--reveal', 'print arguments as they are (secret-looking values are masked by default)'),
  ).action(async (options: { dataDir: string; all?: boolean; reveal?: boolean }) =>
    setExit(await approvalsList({ ...options, dataDir: resolveDataDir(options.dataDir) }, io)),
  );
  for (const [verb, decide, what] of [
    ['approve', approvalsApprove, 'approve the call: it runs once, exactly as shown (audited)'],
    ['deny', approvalsDeny, 'deny the call (audited)'],
  ] as const) {
    dataDir(
      approvals
        .command(verb)
        .argument('<id>', 'the approval id (ap_...), as list prints it')
        .description(what)
        .option('--by <name>', 'who decides, for the record (default: the account running the command)')
        .option('--note <text>', 'a note kept with the decision'),
    ).action(async (id: string, options: { dataDir: string; by?: string; note?: string }) =>
      setExit(await decide({ ...options, id, dataDir: resolveDataDir(options.dataDir) }, io)),
    );
  }
  agentsCommands(program, io, setExit, dataDir);
  incidentCommands(program, io, setExit, dataDir);
  reviewersCommands(program, io, setExit, dataDir);
  grantsCommands(program, io, setExit, dataDir);
  return program;
}

/** `grants ...`: standing grants (made by reviewers in the UI); revoking is audited. */
function grantsCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
  dataDir: (command: Command) => Command,
): void {
  const grants = program
    .command('grants')
    .description('standing grants: calls a reviewer allowed in advance (the same as the Grants page)');
  dataDir(
    grants
      .command('list')
      .description('print the grants in force')
      .option('--all', 'also recently expired and revoked ones')
      .option('--json', 'as JSON'),
  ).action(async (options: { dataDir: string; json?: boolean; all?: boolean }) =>
    setExit(
      await grantsList(
        { dataDir: resolveDataDir(options.dataDir), json: options.json === true, all: options.all === true },
        io,
      ),
    ),
  );
  dataDir(
    grants
      .command('revoke')
      .argument('<id>', 'the grant id (gr_...), as list prints it')
      .description('revoke a grant (audited)'),
  ).action(async (id: string, options: { dataDir: string }) =>
    setExit(await grantsRevoke({ dataDir: resolveDataDir(options.dataDir), id }, io)),
  );
}

const TRUSTS = ['low', 'medium', 'high', 'admin'];

/** `reviewers ...`: the people who sign in to decide approvals (every change audited). */
function reviewersCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
  dataDir: (command: Command) => Command,
): void {
  const reviewers = program
    .command('reviewers')
    .description('reviewer accounts: who signs in to decide approvals (the same as the Reviewers page)');
  const base = (options: { dataDir: string }) => ({ dataDir: resolveDataDir(options.dataDir) });
  dataDir(
    reviewers
      .command('add')
      .argument('<name>', 'the reviewer name (1-64 letters, digits, space, . _ -)')
      .description('add a reviewer; prints a personal token once (only its SHA-256 is stored; audited)')
      .option(
        '--password-stdin',
        'give them a password read from stdin instead of a token (at least 12 characters)',
      ),
  ).action(async (name: string, options) =>
    setExit(
      await reviewersAdd({ ...base(options), name, passwordStdin: options.passwordStdin === true }, io),
    ),
  );
  dataDir(reviewers.command('list').description('print every reviewer').option('--json', 'as JSON')).action(
    async (options) => setExit(await reviewersList({ ...base(options), json: options.json === true }, io)),
  );
  dataDir(
    reviewers
      .command('token')
      .argument('<name>', 'the reviewer name or id')
      .description('make a new personal token, printed once; the old one stops working (audited)'),
  ).action(async (name: string, options) => setExit(await reviewersToken({ ...base(options), name }, io)));
  dataDir(
    reviewers
      .command('passwd')
      .argument('<name>', 'the reviewer name or id')
      .description('set or replace their password, read from stdin (at least 12 characters; audited)'),
  ).action(async (name: string, options) => setExit(await reviewersPasswd({ ...base(options), name }, io)));
  for (const [change, what] of [
    ['disable', 'stop them signing in; their sessions and token stop working at once (audited)'],
    ['enable', 'let a disabled reviewer sign in again (audited)'],
    ['remove', 'delete the account; past decisions keep their name (audited)'],
  ] as const) {
    dataDir(reviewers.command(change).argument('<name>', 'the reviewer name or id').description(what)).action(
      async (name: string, options) => setExit(await reviewersChange({ ...base(options), name, change }, io)),
    );
  }
}

/** `agents ...`: the registry's agents and keys (every change audited). */
function agentsCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
  dataDir: (command: Command) => Command,
): void {
  const agents = program
    .command('agents')
    .description('the agent registry: agents, their generated keys and trust (the same as the Agents page)');
  const common = (command: Command): Command =>
    dataDir(command).option(
      '--policy <file>',
      'the policy whose agents: are read-only file agents (default: policy.yml when it exists here)',
    );
  const base = (options: { dataDir: string; policy?: string }) => ({
    dataDir: resolveDataDir(options.dataDir),
    policy: options.policy,
  });
  common(
    agents
      .command('add')
      .argument('<name>', 'the agent id (letters, digits and . _ @ -)')
      .description('add an agent and print its first key, once (only its SHA-256 is stored; audited)')
      .addOption(new Option('--trust <level>', 'its trust').choices(TRUSTS).default('low'))
      .option('--owner <team>', 'who owns it')
      .option('--env <env>', 'where it runs (prod, staging, ...)'),
  ).action(async (id: string, options) =>
    setExit(
      await agentsAdd(
        { ...base(options), id, trust: options.trust, owner: options.owner, env: options.env },
        io,
      ),
    ),
  );
  common(agents.command('list').description('print every agent').option('--json', 'as JSON')).action(
    async (options) => setExit(await agentsList({ ...base(options), json: options.json === true }, io)),
  );
  common(
    agents
      .command('show')
      .argument('<id>')
      .description('print an agent and its keys')
      .option('--json', 'as JSON'),
  ).action(async (id: string, options) =>
    setExit(await agentsShow({ ...base(options), id, json: options.json === true }, io)),
  );
  common(
    agents
      .command('rotate')
      .argument('<id>')
      .description('make a new key; the old ones keep working until revoked (audited)')
      .option('--revoke-old', 'revoke the other keys at once'),
  ).action(async (id: string, options) =>
    setExit(await agentsRotate({ ...base(options), id, revokeOld: options.revokeOld === true }, io)),
  );
  common(
    agents
      .command('revoke')
      .argument('<id>')
      .description('revoke one key (--key), or remove the agent and with it all its keys (audited)')
      .option('--key <keyid>', 'the key id (key_...), as show prints it'),
  ).action(async (id: string, options) =>
    setExit(await agentsRevoke({ ...base(options), id, key: options.key }, io)),
  );
  common(
    agents
      .command('set-trust')
      .argument('<id>')
      .argument('<level>', TRUSTS.join(', '))
      .description("set an agent's trust; a running proxy applies it to the next call (audited)"),
  ).action(async (id: string, trust: string, options) =>
    setExit(await agentsSetTrust({ ...base(options), id, trust }, io)),
  );
}

/** A TCP port to listen on; 0 asks the system for a free one. */
function portNumber(value: string): number {
  const text = value.trim();
  if (!/^\d+$/.test(text) || Number(text) > 65535)
    throw new InvalidArgumentError('must be a port number from 0 to 65535 (0 picks a free one)');
  return Number(text);
}

function uiPort(value: string): number | 'off' {
  return value.trim() === 'off' ? 'off' : portNumber(value);
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

/** Runs the command line `args` (without node and the script) and resolves with its exit code. */
export async function runCli(args: readonly string[], io: Io): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  // Commander writes whole blocks ending in a newline; the Io adds its own.
  const output = {
    writeOut: (s: string) => io.out(s.replace(/\n$/, '')),
    writeErr: (s: string) => io.err(s.replace(/\n$/, '')),
  };
  // Subcommands copied the parent's settings when they were made, so each gets them itself.
  for (const command of [program, ...program.commands, ...program.commands.flatMap((sub) => sub.commands)]) {
    command.exitOverride();
    command.configureOutput(output);
  }
  const argv = normaliseArgv(args);
  if (argv.length === 0) {
    io.out(program.helpInformation().replace(/\n$/, ''));
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof UsageError) {
      io.err(`portcullis: ${error.message}`);
      return EXIT_USAGE;
    }
    io.err(`portcullis: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.DEBUG && error instanceof Error && error.stack) io.err(error.stack);
    return EXIT_CHECK_FAILED;
  }
  return code;
}

/** `portcullis incidents ...` (the lead may move suspend/reinstate under `agents`: the handlers are in incidents.ts). */
function incidentCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
  dataDir: (command: Command) => Command,
): void {
  const incidents = program
    .command('incidents')
    .description('incidents and suspended agents (the same store and audit records as the UI)');
  dataDir(
    incidents
      .command('list')
      .description('suspended agents, then incidents, newest first')
      .option('--status <status>', 'open, acknowledged or resolved')
      .option('--severity <severity>', 'low, medium, high or critical')
      .option('--agent <id>', "only this agent's incidents"),
  ).action(async (options: { dataDir: string; status?: string; severity?: string; agent?: string }) =>
    setExit(await incidentsList({ ...options, dataDir: resolveDataDir(options.dataDir) }, io)),
  );
  dataDir(incidents.command('show').argument('<id>').description('one incident in full')).action(
    async (id: string, options: { dataDir: string }) =>
      setExit(await incidentsShow({ id, dataDir: resolveDataDir(options.dataDir) }, io)),
  );
  for (const [verb, run, what] of [
    ['ack', incidentsAck, 'acknowledge the incident: someone is on it (audited)'],
    ['resolve', incidentsResolve, 'resolve the incident (audited)'],
  ] as const) {
    dataDir(
      incidents
        .command(verb)
        .argument('<id>')
        .description(what)
        .option('--by <name>', 'who, for the record (default: the account running the command)'),
    ).action(async (id: string, options: { dataDir: string; by?: string }) =>
      setExit(await run({ ...options, id, dataDir: resolveDataDir(options.dataDir) }, io)),
    );
  }
  dataDir(
    incidents
      .command('suspend')
      .argument('<agent>')
      .description(
        'suspend the agent: its calls are denied, its lists empty, its held approvals withdrawn (audited)',
      )
      .option('--reason <text>', 'why, shown to the agent and kept in the record')
      .option('--by <name>', 'who, for the record'),
  ).action(async (agent: string, options: { dataDir: string; reason?: string; by?: string }) =>
    setExit(await incidentsSuspend({ ...options, agent, dataDir: resolveDataDir(options.dataDir) }, io)),
  );
  dataDir(
    incidents
      .command('reinstate')
      .argument('<agent>')
      .description("end the agent's suspension: its calls run again (audited)")
      .option('--by <name>', 'who, for the record'),
  ).action(async (agent: string, options: { dataDir: string; by?: string }) =>
    setExit(await incidentsReinstate({ ...options, agent, dataDir: resolveDataDir(options.dataDir) }, io)),
  );
}
