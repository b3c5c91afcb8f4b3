// One call for the composition root: open the approvals database, start the queue, serve the UI if we can.
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import {
  ApprovalQueue,
  ApprovalStore,
  DEFAULT_APPROVAL_SETTINGS,
  queueReviewHandler,
} from '../approvals/index.js';
import type { AuditSink } from '../audit/index.js';
import type { ApprovalSettings, CompiledPolicy } from '../policy/index.js';
import type { ReviewHandler } from '../proxy/index.js';
import type { Redaction } from '../secrets/index.js';
import { urlHost } from '../util/index.js';
import { loadOrCreateToken, WebAuth } from './auth.js';
import type { ReadyReport } from './routes/public.js';
import { serveWeb, WebPortInUseError, type WebServer } from './server.js';
import type { PolicyStatus } from './views/pages.js';

export interface ApprovalsOptions {
  /** `<data-dir>`: holds approvals.db and ui-token. */
  dataDir: string;
  /** UI port (8787 by default, 0 = free port) or 'off'. */
  ui: number | 'off';
  host?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** The current policy; its `approval` settings apply to each new review. */
  policy?: (() => CompiledPolicy | undefined) | undefined;
  policyStatus?: (() => PolicyStatus | undefined) | undefined;
  ready?: (() => ReadyReport | Promise<ReadyReport>) | undefined;
  audit?: AuditSink | undefined;
  /** Where the audit log is read from for the audit page and GET /api/audit (`<data-dir>/audit`). */
  auditDir?: string | undefined;
  /** Masks secrets in the arguments the UI and API show (the audit log's Redactor, `review`). */
  redactArgs?: ((args: unknown) => Redaction) | undefined;
  registry?: Registry | undefined;
  /** stderr lines for a person (stdout belongs to MCP in stdio mode). */
  log: (line: string) => void;
}

export interface Approvals {
  queue: ApprovalQueue;
  /** Hand this to the gate: `new Gate({ review: approvals.review, ... })`. */
  review: ReviewHandler;
  /** The UI this process serves; undefined when another process serves it or the UI is off. */
  web: WebServer | undefined;
  /** Where people decide, whichever process serves it. */
  uiUrl: string | undefined;
  close(): Promise<void>;
}

export async function startApprovals(options: ApprovalsOptions): Promise<Approvals> {
  const store = new ApprovalStore(join(options.dataDir, 'approvals.db'));
  let uiUrl: string | undefined;
  const settings = (): ApprovalSettings => options.policy?.()?.approval ?? DEFAULT_APPROVAL_SETTINGS;
  const queue = new ApprovalQueue({
    store,
    settings,
    uiUrl: () => uiUrl,
    audit: options.audit,
    onError: (error) => options.log(`approvals: ${(error as Error).message ?? String(error)}`),
  });
  let web: WebServer | undefined;
  try {
    if (options.ui !== 'off') {
      const host = options.host ?? '127.0.0.1';
      const auth = new WebAuth({ token: loadOrCreateToken(options.dataDir, options.env), db: store.db });
      try {
        web = await serveWeb({
          queue,
          auth,
          host,
          port: options.ui,
          policy: options.policy,
          policyStatus: options.policyStatus,
          ready: options.ready,
          auditDir: options.auditDir,
          redactArgs: options.redactArgs,
          audit: options.audit,
          registry: options.registry,
          log: options.log,
        });
        uiUrl = web.url;
      } catch (error) {
        if (!(error instanceof WebPortInUseError)) throw error;
        // Claude Desktop starts one proxy per server: the first to bind serves the UI for all of them,
        // and the shared database carries every decision and login code between them.
        uiUrl = `http://${urlHost(host)}:${error.port}`;
        options.log(`approvals UI: ${uiUrl} is already served (by another Portcullis process, presumably)`);
      }
      options.log(`approvals UI: sign in at ${auth.loginUrl(uiUrl)} (one-time link)`);
    }
  } catch (error) {
    queue.close();
    store.close();
    throw error;
  }
  return {
    queue,
    review: queueReviewHandler(queue),
    web,
    uiUrl,
    async close() {
      try {
        await web?.close();
      } finally {
        queue.close();
        store.close();
      }
    },
  };
}
