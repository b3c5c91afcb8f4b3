// The audit log, read: the Audit page and GET /api/audit, both filtered the same way.
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { type AuditPage, AuditQueryError, queryAudit, recordLine } from '../../audit/index.js';
import { type AuditFilters, auditSearch, parseAuditFilters } from '../audit-filters.js';
import type { WebEnv } from '../security.js';
import { auditPage } from '../views/audit.js';
import type { Frame } from './frame.js';

export interface AuditDeps {
  /** The audit log directory (`<data-dir>/audit`); the page and the API are off without it. */
  auditDir?: string | undefined;
}

function wantsJsonl(format: string | undefined, accept: string | undefined): boolean {
  if (format === 'jsonl' || format === 'ndjson') return true;
  if (format === 'json') return false;
  if (format !== undefined && format !== '') {
    throw new HTTPException(400, { message: 'format must be json or jsonl' });
  }
  return (accept ?? '').toLowerCase().includes('application/x-ndjson');
}

/** GET /audit, only when there is an audit log to read. */
export function auditPageRoute(pages: Hono<WebEnv>, { auditDir, frame }: AuditDeps & { frame: Frame }): void {
  if (auditDir === undefined) return;
  pages.get('/audit', async (c) => {
    const params = new URL(c.req.url).searchParams;
    const form: Record<string, string> = {};
    for (const [key, value] of params) if (value.length <= 500) form[key] = value;
    let filters: AuditFilters = {};
    let page: AuditPage = { records: [], chains: [], nextCursor: null };
    let error: string | undefined;
    try {
      const parsed = parseAuditFilters(params);
      filters = parsed.filters;
      page = await queryAudit(auditDir, parsed.query);
    } catch (caught) {
      if (!(caught instanceof AuditQueryError)) throw caught;
      error = `These filters cannot be used: ${caught.message}.`;
    }
    return c.html(
      frame(c.get('principal'), 'Audit log', 'audit', auditPage({ ...page, filters, form, error }), true),
      error === undefined ? 200 : 400,
    );
  });
}

/**
 * GET /api/audit: records of every writer's chain, newest first. JSON: {records, next_cursor}, each
 * record as stored plus `chain` (its writer slot; never a stored field). JSONL (format=jsonl or
 * Accept: application/x-ndjson): the stored lines exactly, with the cursor in X-Next-Cursor and a
 * Link rel="next".
 */
export function auditApiRoute(api: Hono<WebEnv>, { auditDir }: AuditDeps): void {
  api.get('/audit', async (c) => {
    const format = c.req.query('format');
    const jsonl = wantsJsonl(format, c.req.header('accept'));
    const { filters, query } = parseAuditFilters(new URL(c.req.url).searchParams, ['format']);
    if (auditDir === undefined) return c.json({ error: 'The audit log is not available here' }, 503);
    const page = await queryAudit(auditDir, query);
    if (!jsonl) {
      const records = page.records.map((record, i) => ({ ...record, chain: page.chains[i] }));
      return c.json({ records, next_cursor: page.nextCursor });
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/x-ndjson; charset=utf-8' };
    if (page.nextCursor !== null) {
      headers['X-Next-Cursor'] = page.nextCursor;
      const next = auditSearch({ ...filters, before: page.nextCursor });
      headers.Link = `</api/audit${next}${format === undefined ? '' : `&format=${format}`}>; rel="next"`;
    }
    return c.body(page.records.map(recordLine).join(''), 200, headers);
  });
}
