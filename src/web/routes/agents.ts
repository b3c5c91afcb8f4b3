// Agents: the Agents page (list, detail, add, trust, keys) and /api/agents; every change through the registry, audited there.
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AgentRegistry } from '../../agents/index.js';
import type { AgentRecord, Suspension } from '../../governance/index.js';
import { actorOf, type Principal, readForm, type WebEnv } from '../security.js';
import { type AgentFilters, type AgentsFlash, agentPage, agentsPage } from '../views/agents.js';
import { jsonBody, optionalString } from './body.js';
import type { Frame } from './frame.js';

export interface AgentsDeps {
  /** Without it there is no Agents page and no /api/agents. */
  agents?: AgentRegistry | undefined;
  /** Who is suspended (the incidents part): shown as "Suspended: reason". */
  suspension?: ((agent: string) => Suspension | null) | undefined;
  log?: ((line: string) => void) | undefined;
}

type SessionPrincipal = Extract<Principal, { kind: 'session' }>;

const withSuspension = (deps: AgentsDeps, agent: AgentRecord): AgentRecord => ({
  ...agent,
  suspension: deps.suspension?.(agent.id) ?? agent.suspension,
});

function agentJson(agent: AgentRecord) {
  return { ...agent, active_keys: agent.keys.filter((k) => k.revoked_at === null).length };
}

function found(deps: AgentsDeps & { agents: AgentRegistry }, id: string): AgentRecord {
  const agent = deps.agents.get(id);
  if (!agent) throw new HTTPException(404, { message: `No agent ${id}` });
  return withSuspension(deps, agent);
}

/** A key is shown once: nothing between here and the person may keep it. */
function noStore(c: Context<WebEnv>): void {
  c.header('Cache-Control', 'no-store');
}

/** GET/POST /api/agents, GET/PATCH/DELETE /api/agents/:id, POST /api/agents/:id/keys, DELETE /api/agents/:id/keys/:key. */
export function agentsApiRoutes(
  api: Hono<WebEnv>,
  deps: AgentsDeps & { reviewerOf: (principal: Principal) => string },
): void {
  const { agents } = deps;
  if (!agents) return;
  const all = { ...deps, agents };
  const by = (c: Context<WebEnv>) => deps.reviewerOf(c.get('principal'));

  api.get('/agents', (c) => c.json(agents.list().map((a) => agentJson(withSuspension(deps, a)))));

  api.post('/agents', async (c) => {
    const body = await jsonBody(c.req);
    const id = optionalString(body, 'id', 128);
    if (!id) throw new HTTPException(400, { message: '"id" is required' });
    const issued = await agents.add(
      {
        id,
        trust: optionalString(body, 'trust', 20),
        owner: optionalString(body, 'owner', 200),
        env: optionalString(body, 'env', 200),
      },
      by(c),
    );
    noStore(c);
    return c.json({ agent: agentJson(issued.agent), key: issued.key, key_id: issued.record.id }, 201);
  });

  api.get('/agents/:id', (c) => c.json(agentJson(found(all, c.req.param('id')))));

  api.patch('/agents/:id', async (c) => {
    const body = await jsonBody(c.req);
    const unknown = Object.keys(body).filter((k) => !['trust', 'owner', 'env'].includes(k));
    if (unknown.length > 0)
      throw new HTTPException(400, {
        message: `unknown field(s): ${unknown.join(', ')} (trust, owner, env)`,
      });
    const nullable = (key: string) => (body[key] === null ? null : optionalString(body, key, 200));
    const agent = await agents.update(
      c.req.param('id'),
      { trust: optionalString(body, 'trust', 20), owner: nullable('owner'), env: nullable('env') },
      by(c),
    );
    return c.json(agentJson(withSuspension(deps, agent)));
  });

  api.delete('/agents/:id', async (c) => {
    const id = c.req.param('id');
    await agents.remove(id, by(c));
    return c.json({ id, removed: true });
  });

  api.post('/agents/:id/keys', async (c) => {
    const body = await jsonBody(c.req);
    const revokeOld = body.revoke_old;
    if (revokeOld !== undefined && typeof revokeOld !== 'boolean')
      throw new HTTPException(400, { message: '"revoke_old" must be true or false' });
    const issued = await agents.addKey(c.req.param('id'), by(c), { revokeOld: revokeOld === true });
    noStore(c);
    return c.json({ agent: agentJson(issued.agent), key: issued.key, key_id: issued.record.id }, 201);
  });

  api.delete('/agents/:id/keys/:key', async (c) => {
    const agent = await agents.revokeKey(c.req.param('id'), c.req.param('key'), by(c));
    return c.json(agentJson(withSuspension(deps, agent)));
  });
}

function filtersFrom(query: Record<string, string>): AgentFilters {
  return { source: query.source ?? '', trust: query.trust ?? '', q: (query.q ?? '').slice(0, 200) };
}

/** GET /agents, GET /agents/:id and the forms: add, trust, rotate, revoke key, remove. */
export function agentsPageRoutes(
  pages: Hono<WebEnv>,
  deps: AgentsDeps & { frame: Frame; auditLinks: boolean },
): void {
  const { agents, frame } = deps;
  if (!agents) return;
  const all = { ...deps, agents };
  const who = (c: Context<WebEnv>) => actorOf(c.get('principal'));
  const csrf = (c: Context<WebEnv>) => (c.get('principal') as SessionPrincipal).session.csrf;
  const list = (c: Context<WebEnv>, flash?: AgentsFlash) => {
    const body = agentsPage(
      agents.list().map((a) => withSuspension(deps, a)),
      filtersFrom(c.req.query()),
      csrf(c),
      flash,
    );
    return c.html(frame(c.get('principal'), 'Agents', 'agents', body, true));
  };
  const detail = (c: Context<WebEnv>, id: string, flash?: AgentsFlash) =>
    c.html(
      frame(
        c.get('principal'),
        `Agent ${id}`,
        'agents',
        agentPage(found(all, id), csrf(c), { flash, auditLinks: deps.auditLinks }),
      ),
    );

  pages.get('/agents', (c) => list(c));
  pages.get('/agents/:id', (c) => {
    // Fixed texts only: a crafted link cannot make the page say something else.
    const done = c.req.query('done');
    const text =
      done === 'trust'
        ? 'Trust saved: it applies to the next call.'
        : done === 'revoked'
          ? 'Key revoked: it is refused from now on.'
          : undefined;
    return detail(c, c.req.param('id'), text ? { kind: 'ok', text } : undefined);
  });

  pages.post('/agents/add', async (c) => {
    const form = await readForm(c);
    const issued = await agents.add(
      { id: form.id ?? '', trust: form.trust, owner: form.owner, env: form.env },
      who(c),
    );
    deps.log?.(`agents: ${issued.agent.id} added by ${who(c)}`);
    noStore(c);
    // Rendered, not redirected: the key is in this one response and nowhere else (no URL, no cookie).
    return detail(c, issued.agent.id, {
      kind: 'key',
      key: issued.key,
      text: `Agent ${issued.agent.id} added.`,
    });
  });

  pages.post('/agents/:id/trust', async (c) => {
    const id = c.req.param('id');
    const form = await readForm(c);
    await agents.update(id, { trust: form.trust }, who(c));
    return c.redirect(`/agents/${encodeURIComponent(id)}?done=trust`, 303);
  });

  pages.post('/agents/:id/rotate', async (c) => {
    const id = c.req.param('id');
    const form = await readForm(c);
    const issued = await agents.addKey(id, who(c), { revokeOld: form.revoke_old === 'on' });
    noStore(c);
    return detail(c, id, {
      kind: 'key',
      key: issued.key,
      text:
        form.revoke_old === 'on'
          ? 'New key made; the old keys are revoked.'
          : 'New key made; the old keys keep working until you revoke them.',
    });
  });

  pages.post('/agents/:id/remove', async (c) => {
    const id = c.req.param('id');
    await agents.remove(id, who(c));
    return list(c, { kind: 'ok', text: `Agent ${id} removed: its keys are refused from now on.` });
  });

  pages.post('/agents/:id/keys/:key/revoke', async (c) => {
    const id = c.req.param('id');
    await agents.revokeKey(id, c.req.param('key'), who(c));
    return c.redirect(`/agents/${encodeURIComponent(id)}?done=revoked`, 303);
  });
}
