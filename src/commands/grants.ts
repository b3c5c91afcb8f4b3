// `portcullis grants list|revoke`: standing grants from a shell; the same store and audit records as the Grants page.
import { userInfo } from 'node:os';
import { AuditLog } from '../audit/index.js';
import {
  describeConstraints,
  durationText,
  type Grant,
  GrantError,
  GrantStore,
  Grants,
  grantJson,
} from '../grants/index.js';
import { EXIT_OK, type Io, UsageError } from './io.js';

export interface GrantsOptions {
  dataDir: string;
}

/** Who acted, for the audit record: the account running the command. */
function person(): { name: string; id: string } {
  try {
    const user = userInfo().username;
    return { name: `${user} (command line)`, id: `cli:${user}` };
  } catch {
    return { name: 'command line', id: 'cli:unknown' };
  }
}

/** The grants of the data dir, with a short-lived audit log when something changes. */
async function withGrants<T>(
  opts: GrantsOptions,
  writes: boolean,
  run: (grants: Grants) => Promise<T> | T,
): Promise<T> {
  const audit = writes ? await AuditLog.open({ dataDir: opts.dataDir }) : undefined;
  // The policy's grant_max matters only when a grant is made, which the command line never does.
  const grants = new Grants({ store: GrantStore.inDataDir(opts.dataDir), audit, maxMs: () => 0 });
  try {
    return await run(grants);
  } catch (error) {
    if (error instanceof GrantError) throw new UsageError(error.message);
    throw error;
  } finally {
    grants.store.close();
    await audit?.close();
  }
}

function line(grant: Grant, now: number): string {
  const scope = `${grant.server ? `${grant.server}/` : ''}${grant.tool}`;
  const uses = grant.maxUses === null ? `${grant.uses} use(s)` : `${grant.uses}/${grant.maxUses} uses`;
  return (
    `${grant.id}  ${grant.agent ?? '(no agent id)'}  ${scope}  expires in ${durationText(grant.expiresAt - now)}  ${uses}  ` +
    `by ${grant.createdBy}${grant.fromApproval ? ` from ${grant.fromApproval}` : ''}\n    ${describeConstraints(grant.constraints, grant.otherArgs).join('; ')}`
  );
}

export function grantsList(opts: GrantsOptions & { json?: boolean; all?: boolean }, io: Io): Promise<number> {
  return withGrants(opts, false, (grants) => {
    const now = Date.now();
    const list = [...grants.store.active(now), ...(opts.all ? grants.store.ended(now, 200) : [])];
    if (opts.json)
      io.out(
        JSON.stringify(
          list.map((g) => grantJson(g, now)),
          null,
          2,
        ),
      );
    else if (list.length === 0)
      io.out('no standing grant is in force (reviewers make them on the approvals page)');
    else for (const grant of list) io.out(line(grant, now));
    return EXIT_OK;
  });
}

export function grantsRevoke(opts: GrantsOptions & { id: string }, io: Io): Promise<number> {
  return withGrants(opts, true, async (grants) => {
    const who = person();
    const grant = await grants.revoke(opts.id, who.name, who.id);
    io.out(`revoked ${grant.id}: the next such call waits for a person`);
    return EXIT_OK;
  });
}
