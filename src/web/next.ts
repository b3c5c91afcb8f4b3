// Where sign-in sends a browser back to: only a plain path of this UI, never another origin or a trick that reads as one.
const APPROVAL_PATH = /^\/approvals\/ap_[0-9a-f]{16}$/;
/** A path of letters, digits and `-._~/`, with an optional query of the same and `=&%+`; nothing else. */
const PLAIN_PATH = /^\/(?![/\\])[A-Za-z0-9\-._~/]*(\?[A-Za-z0-9\-._~=&%+]*)?$/;

/**
 * The `next` of a sign-in, or undefined: an approval's page, or a plain same-origin path. Refused:
 * `//host`, `/\host`, any scheme, backslashes, whitespace, control characters, `..` segments, the
 * sign-in page itself (a loop), and anything longer than 512 characters.
 */
export function safeNext(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 512) return undefined;
  if (!PLAIN_PATH.test(raw)) return undefined;
  const path = raw.split('?')[0] as string;
  if (path.split('/').some((segment) => segment === '..' || segment === '.')) return undefined;
  if (path.startsWith('/approvals/') && !APPROVAL_PATH.test(path)) return undefined;
  if (path === '/login' || path === '/logout') return undefined;
  // Belt and braces: whatever a browser makes of it must stay on this origin with this path.
  const base = 'http://portcullis.invalid';
  const url = new URL(raw, base);
  if (url.origin !== base || url.pathname !== path) return undefined;
  return raw;
}

/** The sign-in page that comes back to `path` (or plain /login when `path` is not safe). */
export function loginHref(path: string): string {
  const next = safeNext(path);
  return next === undefined || next === '/' ? '/login' : `/login?${new URLSearchParams({ next })}`;
}
