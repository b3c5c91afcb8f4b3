// Signing in and out of the UI: the one-time link, the admin token or a reviewer account, the session every other page needs, and logout.
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import type { ReviewerRef } from '../../approvals/index.js';
import type { WebAuth } from '../auth.js';
import { loginHref, safeNext } from '../next.js';
import { clientAddress, type SignInLimiter } from '../rate-limit.js';
import { ADMIN_REVIEWER, checkCsrf, identify, readForm, SESSION_COOKIE, type WebEnv } from '../security.js';
import { loginPage } from '../views/pages.js';
import type { Frame } from './frame.js';

export interface SignInDeps {
  auth: WebAuth;
  frame: Frame;
  /** One line per sign-in and refusal; never given a credential. */
  log?: ((line: string) => void) | undefined;
}

function reviewerName(raw: string | undefined): string {
  // Free text from the person signing in: strip control characters, keep it short.
  const name = (raw ?? '')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .trim()
    .slice(0, 80);
  return name === '' ? 'admin' : name;
}

function attemptsLeft(remaining: number, limiter: SignInLimiter): string {
  const window = Math.round(limiter.windowMs / 1000);
  return remaining === 1
    ? `One more failed attempt pauses sign-in from this address for ${window} seconds.`
    : `${remaining} attempts left before sign-in from this address pauses for ${window} seconds.`;
}

function pauseText(retryAfterSeconds: number, limiter: SignInLimiter): string {
  return (
    `Sign-in from this address is paused after ${limiter.failures} failed attempts within ` +
    `${Math.round(limiter.windowMs / 1000)} seconds: try again in ${retryAfterSeconds} seconds. ` +
    'An unused sign-in link still works after the pause.'
  );
}

/**
 * Who the form's credential signs in: a one-time link or the admin token is the admin (the typed
 * name is shown and recorded, but typing two names never makes two reviewers: the two-person rule
 * counts accounts); a personal `pcr_` token or a name and password is that reviewer account.
 */
async function credentialOf(auth: WebAuth, form: Record<string, string>): Promise<ReviewerRef | undefined> {
  const admin = () => ({ ...ADMIN_REVIEWER, name: reviewerName(form.reviewer) });
  if (form.code !== undefined) return auth.loginCodes.consume(form.code) ? admin() : undefined;
  if (form.password !== undefined) {
    return auth.reviewers ? auth.reviewers.byPassword(form.account ?? '', form.password) : undefined;
  }
  if (form.token === undefined) return undefined;
  const token = form.token.trim();
  if (auth.verifyToken(token)) return admin();
  return auth.reviewers?.byToken(token, true);
}

/** GET and POST /login. */
export function signInRoutes(pages: Hono<WebEnv>, { auth, frame, log }: SignInDeps): void {
  /** 429 with Retry-After, and a page that says plainly what happened and when to try again. */
  const pausedSignIn = (c: Context<WebEnv>, retryAfterSeconds: number) => {
    c.header('Retry-After', String(retryAfterSeconds));
    const error = `Too many failed sign-in attempts. ${pauseText(retryAfterSeconds, auth.signIns)}`;
    return c.html(frame(undefined, 'Sign in', 'none', loginPage({ error })), 429);
  };

  pages.get('/login', (c) => {
    const code = c.req.query('code');
    const next = safeNext(c.req.query('next'));
    return c.html(
      frame(
        undefined,
        'Sign in',
        'none',
        loginPage({ code: code && code.length <= 200 ? code : undefined, next }),
      ),
    );
  });

  pages.post('/login', async (c) => {
    const address = clientAddress(c);
    // Before the credential is looked at: a paused address's guesses are not even compared.
    const verdict = auth.signIns.check(address);
    if (!verdict.allowed) {
      log?.(`ui: sign-in from ${address} refused unchecked: too many failures`);
      return pausedSignIn(c, verdict.retryAfterSeconds);
    }
    const form = await readForm(c);
    const reviewer = await credentialOf(auth, form);
    if (!reviewer) {
      // A success does not clear the count: failures age out by themselves, so signing in now and
      // then cannot buy a guesser on the same address (often 127.0.0.1, like the agent) more tries.
      const after = auth.signIns.fail(address);
      log?.(`ui: sign-in refused from ${address} (used, expired or wrong credential)`);
      const problem =
        form.code !== undefined
          ? 'This sign-in link was already used or has expired. Ask for a new one (restart the proxy) or use the admin token.'
          : form.password !== undefined
            ? 'That reviewer name and password do not match an active account.'
            : 'That token is not right (or its reviewer account is disabled).';
      const error = after.allowed
        ? `${problem} ${attemptsLeft(after.remaining, auth.signIns)}`
        : `${problem} ${pauseText(after.retryAfterSeconds, auth.signIns)}`;
      if (!after.allowed) c.header('Retry-After', String(after.retryAfterSeconds));
      return c.html(
        frame(undefined, 'Sign in', 'none', loginPage({ code: undefined, error, next: safeNext(form.next) })),
        401,
      );
    }
    const { id } = auth.sessions.create(reviewer);
    setCookie(c, SESSION_COOKIE, id, { httpOnly: true, sameSite: 'Strict', path: '/', maxAge: 12 * 3600 });
    log?.(`ui: ${reviewer.name} signed in`);
    // A clean address: the one-time code does not stay in the address bar or history. Back to the
    // page the link was for (an approval's), if it is a plain path of this UI.
    return c.redirect(safeNext(form.next) ?? '/', 303);
  });
}

const APPROVAL_PAGE = /^\/approvals\/[^/]+$/;

/** Every page after this needs a signed-in browser session (and a CSRF token on POST). */
export function requireSession({
  auth,
  frame,
}: Pick<SignInDeps, 'auth' | 'frame'>): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const principal = identify(c, auth);
    if (principal?.kind !== 'session') {
      if (c.req.path === '/events' || c.req.path.startsWith('/fragments/')) {
        throw new HTTPException(401, { message: 'Sign in again' });
      }
      const here = `${c.req.path}${new URL(c.req.url).search}`;
      // A link handed out for an approval: to sign-in, and back to it afterwards.
      if (c.req.method === 'GET' && APPROVAL_PAGE.test(c.req.path)) return c.redirect(loginHref(here), 303);
      const next = c.req.method === 'GET' ? safeNext(here) : undefined;
      return c.html(
        frame(undefined, 'Sign in', 'none', loginPage({ next: next === '/' ? undefined : next })),
        401,
      );
    }
    c.set('principal', principal);
    if (c.req.method === 'POST') await checkCsrf(c, principal);
    await next();
  };
}

/** POST /logout: ends the session here and in the browser. */
export function logoutRoute(pages: Hono<WebEnv>, { auth }: Pick<SignInDeps, 'auth'>): void {
  pages.post('/logout', (c) => {
    const principal = c.get('principal');
    if (principal.kind === 'session') auth.sessions.destroy(principal.id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });
}
