// Reviewers: the Reviewers page and /api/reviewers (the admin only: roles.ts); every change through src/reviewers, audited there.
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ReviewerError, type Reviewers } from '../../reviewers/index.js';
import { actorOf, type Principal, readForm, type WebEnv } from '../security.js';
import { type ReviewersFlash, reviewersPage } from '../views/reviewers.js';
import { jsonBody, optionalString } from './body.js';
import type { Frame } from './frame.js';

export interface ReviewersDeps {
  /** Without them there is no Reviewers page and no /api/reviewers. */
  reviewers?: Reviewers | undefined;
  log?: ((line: string) => void) | undefined;
}

type SessionPrincipal = Extract<Principal, { kind: 'session' }>;

/** A token is shown once: nothing between here and the person may keep it. */
function noStore(c: Context<WebEnv>): void {
  c.header('Cache-Control', 'no-store');
}

/** GET/POST /api/reviewers, POST /api/reviewers/:id/token|password|disable|enable, DELETE /api/reviewers/:id. */
export function reviewersApiRoutes(api: Hono<WebEnv>, { reviewers, log }: ReviewersDeps): void {
  if (!reviewers) return;
  const by = (c: Context<WebEnv>) => actorOf(c.get('principal'));

  api.get('/reviewers', (c) => c.json(reviewers.list()));

  api.post('/reviewers', async (c) => {
    const body = await jsonBody(c.req);
    const name = optionalString(body, 'name', 200);
    if (!name) throw new HTTPException(400, { message: '"name" is required' });
    const password = optionalString(body, 'password', 2000);
    if (body.token !== undefined && typeof body.token !== 'boolean')
      throw new HTTPException(400, { message: '"token" must be true or false' });
    const added = await reviewers.add({ name, password, token: body.token === true }, by(c));
    log?.(`reviewer ${added.reviewer.id} (${added.reviewer.name}) added by ${by(c)}`);
    noStore(c);
    return c.json(added, 201);
  });

  api.post('/reviewers/:id/token', async (c) => {
    const issued = await reviewers.issueToken(c.req.param('id'), by(c));
    noStore(c);
    return c.json(issued, 201);
  });

  api.post('/reviewers/:id/password', async (c) => {
    const body = await jsonBody(c.req);
    const password = optionalString(body, 'password', 2000);
    if (password === undefined) throw new HTTPException(400, { message: '"password" is required' });
    return c.json(await reviewers.setPassword(c.req.param('id'), password, by(c)));
  });

  api.post('/reviewers/:id/disable', async (c) => c.json(await reviewers.disable(c.req.param('id'), by(c))));
  api.post('/reviewers/:id/enable', async (c) => c.json(await reviewers.enable(c.req.param('id'), by(c))));

  api.delete('/reviewers/:id', async (c) => {
    const removed = await reviewers.remove(c.req.param('id'), by(c));
    return c.json({ id: removed.id, removed: true });
  });
}

/** GET /reviewers and its forms: add, new token, password, disable, enable, remove. */
export function reviewersPageRoutes(pages: Hono<WebEnv>, deps: ReviewersDeps & { frame: Frame }): void {
  const { reviewers, frame } = deps;
  if (!reviewers) return;

  const show = (c: Context<WebEnv>, flash?: ReviewersFlash, status: 200 | 400 | 404 | 409 = 200) => {
    const principal = c.get('principal') as SessionPrincipal;
    noStore(c);
    const body = reviewersPage(reviewers.list(), principal.session.csrf, flash);
    return c.html(frame(principal, 'Reviewers', 'reviewers', body), status);
  };

  /** Runs one change; a ReviewerError is shown on the page (the list stays in view), anything else is the app's. */
  const change = async (c: Context<WebEnv>, run: (by: string) => Promise<ReviewersFlash>) => {
    try {
      const flash = await run(actorOf(c.get('principal')));
      return show(c, flash);
    } catch (error) {
      if (error instanceof ReviewerError)
        return show(c, { kind: 'error', text: error.message }, error.status);
      throw error;
    }
  };

  pages.get('/reviewers', (c) => show(c));

  pages.post('/reviewers/add', async (c) => {
    const form = await readForm(c);
    const password = form.password === undefined || form.password === '' ? undefined : form.password;
    return change(c, async (by) => {
      const added = await reviewers.add({ name: form.name ?? '', password }, by);
      deps.log?.(`reviewer ${added.reviewer.id} (${added.reviewer.name}) added by ${by}`);
      if (added.token === undefined)
        return {
          kind: 'ok',
          text: `Added ${added.reviewer.name}: they sign in with their name and password.`,
        };
      return {
        kind: 'token',
        text: `Added ${added.reviewer.name}.`,
        token: added.token,
        name: added.reviewer.name,
      };
    });
  });

  pages.post('/reviewers/:id/token', (c) =>
    change(c, async (by) => {
      const { reviewer, token } = await reviewers.issueToken(c.req.param('id'), by);
      return {
        kind: 'token',
        text: `New token for ${reviewer.name}; the old one no longer works.`,
        token,
        name: reviewer.name,
      };
    }),
  );

  pages.post('/reviewers/:id/password', async (c) => {
    const form = await readForm(c);
    return change(c, async (by) => {
      const reviewer = await reviewers.setPassword(c.req.param('id'), form.password ?? '', by);
      return { kind: 'ok', text: `Password set for ${reviewer.name}.` };
    });
  });

  pages.post('/reviewers/:id/disable', (c) =>
    change(c, async (by) => {
      const reviewer = await reviewers.disable(c.req.param('id'), by);
      return { kind: 'ok', text: `Disabled ${reviewer.name}: their sessions and token stopped working.` };
    }),
  );

  pages.post('/reviewers/:id/enable', (c) =>
    change(c, async (by) => {
      const reviewer = await reviewers.enable(c.req.param('id'), by);
      return { kind: 'ok', text: `Enabled ${reviewer.name}.` };
    }),
  );

  pages.post('/reviewers/:id/remove', (c) =>
    change(c, async (by) => {
      const reviewer = await reviewers.remove(c.req.param('id'), by);
      return { kind: 'ok', text: `Removed ${reviewer.name}. Their past decisions stay on record.` };
    }),
  );
}
