// Incidents: the Incidents page and its forms, GET/POST /api/incidents, acknowledge/resolve, and suspending and reinstating agents.
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { IncidentFilter, IncidentStatus } from '../../governance/index.js';
import { type Incidents, isSeverity } from '../../incidents/index.js';
import { actorOf, type Principal, readForm, type WebEnv } from '../security.js';
import { incidentsPage } from '../views/incidents.js';
import { jsonBody, optionalString } from './body.js';
import type { Frame } from './frame.js';

export interface IncidentsDeps {
  /** The running proxy's incidents part; without it there is no Incidents page and no /api/incidents. */
  incidents?: (() => Incidents | undefined) | undefined;
  log?: ((line: string) => void) | undefined;
}

const STATUSES: readonly IncidentStatus[] = ['open', 'acknowledged', 'resolved'];
const AGENT = /^[\w.:@-]{1,128}$/;
const TYPE = /^[\w.:-]{1,64}$/;

function filterFrom(query: Record<string, string>): IncidentFilter {
  const status = STATUSES.find((s) => s === query.status);
  const severity = isSeverity(query.severity) ? query.severity : undefined;
  const agent = query.agent && AGENT.test(query.agent) ? query.agent : undefined;
  return { status, severity, agent, limit: 200 };
}

/**
 * What the page says after a form, rebuilt from the store: a crafted link cannot make the page say
 * something that did not happen (it names only incidents and agents in the state it claims).
 */
function flashFrom(query: Record<string, string>, incidents: Incidents): string | undefined {
  const { done, target } = query;
  if (!done || !target) return undefined;
  if (done === 'reinstated' || done === 'suspended') {
    const suspended = incidents.suspension(target) !== null;
    if (done === 'reinstated' && !suspended && AGENT.test(target))
      return `Agent ${target} is reinstated: its calls run again.`;
    if (done === 'suspended' && suspended) return `Agent ${target} is suspended.`;
    return undefined;
  }
  const incident = incidents.get(target);
  if (!incident) return undefined;
  if (done === 'reported')
    return `Reported ${incident.id}${incident.suspended && incident.agent ? `; agent ${incident.agent} is suspended` : ''}.`;
  if (done === incident.status) return `${incident.id} is ${incident.status}.`;
  return undefined;
}

function agentParam(c: Context<WebEnv>): string {
  const agent = c.req.param('id') ?? '';
  if (!AGENT.test(agent)) throw new HTTPException(400, { message: 'not an agent id' });
  return agent;
}

/** A manual report as the API and the form take it; bounded and checked here, once. */
function manualInput(body: Record<string, unknown>, by: string) {
  const agent = optionalString(body, 'agent', 128)?.trim() || null;
  if (agent !== null && !AGENT.test(agent))
    throw new HTTPException(400, { message: '"agent" is not an agent id' });
  const type = optionalString(body, 'type', 64)?.trim() || 'manual';
  if (!TYPE.test(type))
    throw new HTTPException(400, { message: '"type" must be a short word (letters, digits, _ . : -)' });
  const severity = body.severity;
  if (!isSeverity(severity))
    throw new HTTPException(400, { message: '"severity" must be low, medium, high or critical' });
  const description = optionalString(body, 'description', 2000)?.trim();
  if (!description) throw new HTTPException(400, { message: '"description" is needed' });
  const auto = body.auto_suspend;
  if (auto !== undefined && typeof auto !== 'boolean')
    throw new HTTPException(400, { message: '"auto_suspend" must be true or false' });
  return { agent, type, severity, description, autoSuspend: auto === true, by };
}

function required(deps: IncidentsDeps): Incidents {
  const incidents = deps.incidents?.();
  if (!incidents) throw new HTTPException(503, { message: 'incidents are not available' });
  return incidents;
}

/** GET /incidents and its forms (report, acknowledge, resolve, suspend, reinstate); each POST goes back to the page. */
export function incidentsPageRoutes(
  pages: Hono<WebEnv>,
  deps: IncidentsDeps & { frame: Frame; auditLinks: boolean },
): void {
  if (!deps.incidents) return;
  const by = (c: Context<WebEnv>) => {
    const principal = c.get('principal') as Extract<Principal, { kind: 'session' }>;
    return actorOf(principal);
  };
  pages.get('/incidents', (c) => {
    const principal = c.get('principal') as Extract<Principal, { kind: 'session' }>;
    const incidents = required(deps);
    const query = c.req.query();
    const filter = filterFrom(query);
    const body = incidentsPage({
      incidents: incidents.list(filter),
      suspended: incidents.suspended(),
      filter,
      csrf: principal.session.csrf,
      auditLinks: deps.auditLinks,
      flash: flashFrom(query, incidents),
    });
    return c.html(deps.frame(principal, 'Incidents', 'incidents', body));
  });
  const back = (c: Context<WebEnv>, done: string, target: string) =>
    c.redirect(`/incidents?${new URLSearchParams({ done, target })}`, 303);
  pages.post('/incidents/report', async (c) => {
    const form = await readForm(c);
    const input = manualInput({ ...form, auto_suspend: form.auto_suspend === 'on' }, by(c));
    const incident = await required(deps).report(input);
    return back(c, 'reported', incident.id);
  });
  for (const verb of ['acknowledge', 'resolve'] as const) {
    pages.post(`/incidents/:id/${verb}`, async (c) => {
      const incident = await required(deps)[verb](c.req.param('id') ?? '', by(c));
      return back(c, incident.status, incident.id);
    });
  }
  pages.post('/incidents/agents/:id/reinstate', async (c) => {
    const agent = agentParam(c);
    await required(deps).reinstate(agent, by(c));
    deps.log?.(`incidents: agent ${agent} reinstated by ${by(c)}`);
    return back(c, 'reinstated', agent);
  });
  pages.post('/incidents/agents/:id/suspend', async (c) => {
    const agent = agentParam(c);
    const reason = (await readForm(c)).reason?.trim().slice(0, 500) || 'suspended by a person';
    await required(deps).suspend(agent, reason, by(c));
    return back(c, 'suspended', agent);
  });
}

/** GET/POST /api/incidents, POST /api/incidents/:id/acknowledge|resolve, POST /api/agents/:id/suspend|reinstate. */
export function incidentsApiRoutes(
  api: Hono<WebEnv>,
  deps: IncidentsDeps & { reviewerOf: (principal: Principal) => string },
): void {
  if (!deps.incidents) return;
  api.get('/incidents', (c) => c.json(required(deps).list(filterFrom(c.req.query()))));
  api.get('/incidents/:id', (c) => {
    const incident = required(deps).get(c.req.param('id'));
    if (!incident) throw new HTTPException(404, { message: 'No such incident' });
    return c.json(incident);
  });
  api.post('/incidents', async (c) => {
    const input = manualInput(await jsonBody(c.req), deps.reviewerOf(c.get('principal')));
    return c.json(await required(deps).report(input), 201);
  });
  for (const verb of ['acknowledge', 'resolve'] as const) {
    api.post(`/incidents/:id/${verb}`, async (c) =>
      c.json(await required(deps)[verb](c.req.param('id'), deps.reviewerOf(c.get('principal')))),
    );
  }
  api.get('/suspensions', (c) => c.json(required(deps).suspended()));
  api.post('/agents/:id/suspend', async (c) => {
    const agent = agentParam(c);
    const reason = optionalString(await jsonBody(c.req), 'reason', 500)?.trim() || 'suspended by a person';
    const suspension = await required(deps).suspend(agent, reason, deps.reviewerOf(c.get('principal')));
    return c.json({ agent, ...suspension });
  });
  api.post('/agents/:id/reinstate', async (c) => {
    const agent = agentParam(c);
    const by = deps.reviewerOf(c.get('principal'));
    const ended = await required(deps).reinstate(agent, by);
    deps.log?.(`incidents: agent ${agent} reinstated by ${by}`);
    return c.json({ agent, reinstated: true, reinstated_by: by, suspension: ended });
  });
}
