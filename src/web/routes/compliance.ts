// The Compliance page and GET /api/compliance: the same ComplianceReport, as a page and as JSON.
import type { Hono } from 'hono';
import { type ComplianceSources, complianceReport, parseWindow } from '../compliance/index.js';
import type { WebEnv } from '../security.js';
import { compliancePage } from '../views/compliance.js';
import type { Frame } from './frame.js';

export type ComplianceDeps = ComplianceSources;

/** The sources out of a route group's deps (the page's and the API's are wider than this). */
export function complianceSources(
  deps: ComplianceSources & { incidentLog?: ComplianceSources['incidents'] },
): ComplianceSources {
  return {
    auditDir: deps.auditDir,
    queue: deps.queue,
    policy: deps.policy,
    policyStatus: deps.policyStatus,
    directory: deps.directory,
    incidents: deps.incidentLog ?? deps.incidents,
    integrity: deps.integrity,
    now: deps.now,
    maxRecords: deps.maxRecords,
  };
}

/** GET /compliance?window=24h|7d|30d. */
export function compliancePageRoute(pages: Hono<WebEnv>, deps: ComplianceDeps & { frame: Frame }): void {
  pages.get('/compliance', async (c) => {
    const report = await complianceReport(deps, parseWindow(c.req.query('window')));
    return c.html(deps.frame(c.get('principal'), 'Compliance', 'compliance', compliancePage(report), true));
  });
}

/** GET /api/compliance?window=24h|7d|30d: the ComplianceReport (fields documented in the README). */
export function complianceApiRoute(api: Hono<WebEnv>, deps: ComplianceDeps): void {
  api.get('/compliance', async (c) =>
    c.json(await complianceReport(deps, parseWindow(c.req.query('window')))),
  );
}
