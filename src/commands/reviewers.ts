// `portcullis reviewers add|list|token|passwd|disable|enable|remove`: reviewer accounts from a shell, on the data dir directly, audited like the UI's.
import { userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import { AuditLog } from '../audit/index.js';
import { ReviewerError, Reviewers, type ReviewerView, SqliteReviewerStore } from '../reviewers/index.js';
import { EXIT_OK, type Io, UsageError } from './io.js';

export interface ReviewersOptions {
  dataDir: string;
  /** Where a password is read from (`--password-stdin`, `passwd`); process.stdin by default. */
  stdin?: Readable | undefined;
}

/** Who acted, for the audit record: the account running the command. */
function person(): string {
  try {
    return `${userInfo().username} (command line)`;
  } catch {
    return 'command line';
  }
}

/** The whole of stdin less one line ending, so `echo pw | portcullis reviewers passwd alice` sets "pw". */
async function readPassword(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** The accounts on the data dir, with a short-lived audit log when something changes. */
async function withReviewers<T>(
  opts: ReviewersOptions,
  writes: boolean,
  run: (reviewers: Reviewers) => Promise<T> | T,
): Promise<T> {
  const audit = writes ? await AuditLog.open({ dataDir: opts.dataDir }) : undefined;
  const reviewers = new Reviewers({ store: SqliteReviewerStore.inDataDir(opts.dataDir), audit });
  try {
    return await run(reviewers);
  } catch (error) {
    if (error instanceof ReviewerError) throw new UsageError(error.message);
    throw error;
  } finally {
    reviewers.close();
    // The change's audit record is on disk before the command says it is done.
    await audit?.close();
  }
}

function printToken(io: Io, name: string, token: string): void {
  io.out(`reviewer ${name}: personal token`);
  io.out('');
  io.out(`  ${token}`);
  io.out('');
  io.out('This token is shown only now; Portcullis keeps only its SHA-256. Give it to the reviewer');
  io.out('privately: they sign in with it on the UI, or send it as "Authorization: Bearer <token>".');
}

function line(r: ReviewerView): string {
  const creds = r.credentials.length === 0 ? 'no credential' : r.credentials.join('+');
  const state = r.disabled_at ? `disabled ${r.disabled_at}` : 'active';
  return `${r.name}  ${r.id}  ${creds}  created ${r.created_at}  last sign-in ${r.last_sign_in ?? 'never'}  ${state}`;
}

export function reviewersAdd(
  opts: ReviewersOptions & { name: string; passwordStdin?: boolean },
  io: Io,
): Promise<number> {
  return withReviewers(opts, true, async (reviewers) => {
    const password = opts.passwordStdin ? await readPassword(opts.stdin ?? process.stdin) : undefined;
    const added = await reviewers.add({ name: opts.name, password }, person());
    io.out(`added reviewer ${added.reviewer.name} (${added.reviewer.id})`);
    if (added.token !== undefined) printToken(io, added.reviewer.name, added.token);
    else io.out('They sign in on the UI with their name and password.');
    return EXIT_OK;
  });
}

export function reviewersList(opts: ReviewersOptions & { json?: boolean }, io: Io): Promise<number> {
  return withReviewers(opts, false, (reviewers) => {
    const all = reviewers.list();
    if (opts.json) io.out(JSON.stringify(all, null, 2));
    else if (all.length === 0) io.out('no reviewers yet (portcullis reviewers add NAME)');
    else for (const r of all) io.out(line(r));
    return EXIT_OK;
  });
}

export function reviewersToken(opts: ReviewersOptions & { name: string }, io: Io): Promise<number> {
  return withReviewers(opts, true, async (reviewers) => {
    const { reviewer, token } = await reviewers.issueToken(opts.name, person());
    printToken(io, reviewer.name, token);
    io.out('Their previous token, if any, no longer works.');
    return EXIT_OK;
  });
}

export function reviewersPasswd(opts: ReviewersOptions & { name: string }, io: Io): Promise<number> {
  return withReviewers(opts, true, async (reviewers) => {
    const password = await readPassword(opts.stdin ?? process.stdin);
    const reviewer = await reviewers.setPassword(opts.name, password, person());
    io.out(`password set for ${reviewer.name}`);
    return EXIT_OK;
  });
}

const CHANGES = {
  disable: (r: Reviewers, name: string, by: string) => r.disable(name, by),
  enable: (r: Reviewers, name: string, by: string) => r.enable(name, by),
  remove: (r: Reviewers, name: string, by: string) => r.remove(name, by),
} as const;

const DONE = {
  disable: 'disabled (their sessions and token stop working now)',
  enable: 'enabled',
  remove: 'removed (their past decisions stay on record)',
} as const;

export function reviewersChange(
  opts: ReviewersOptions & { name: string; change: keyof typeof CHANGES },
  io: Io,
): Promise<number> {
  return withReviewers(opts, true, async (reviewers) => {
    const reviewer = await CHANGES[opts.change](reviewers, opts.name, person());
    io.out(`reviewer ${reviewer.name} ${DONE[opts.change]}`);
    return EXIT_OK;
  });
}
