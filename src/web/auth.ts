// Admin credentials for the UI: the token, one-time login codes (shared via SQLite) and browser sessions.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { ReviewerRef } from '../approvals/index.js';
import type { Reviewers } from '../reviewers/index.js';
import { createSecretFile } from '../util/index.js';
import { SignInLimiter, type SignInLimitOptions } from './rate-limit.js';

export class WebConfigError extends Error {
  readonly code = 'E_WEB_CONFIG';
}

/** 32 characters: a person-chosen token that short can still be weak, but not trivially guessed. */
export const MIN_TOKEN_LENGTH = 32;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time comparison; hashing first makes the lengths equal so nothing leaks through timing. */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * The admin token: PORTCULLIS_UI_TOKEN, else `<dataDir>/ui-token` (created once with mode 0600).
 * Creation writes a private temp file and hard-links it into place, so proxy processes starting
 * together agree on one token and none reads a half-written file.
 */
export function loadOrCreateToken(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.PORTCULLIS_UI_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.trim().length < MIN_TOKEN_LENGTH) {
      throw new WebConfigError(
        `PORTCULLIS_UI_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters (it has ${fromEnv.trim().length}); ` +
          'use a random one, e.g. `openssl rand -base64 32`, or unset it to have one generated',
      );
    }
    return fromEnv.trim();
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'ui-token');
  try {
    return readToken(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  createSecretFile(file, `${randomSecret()}\n`);
  return readToken(file);
}

function readToken(file: string): string {
  const mode = statSync(file).mode & 0o777;
  // Someone loosened it: put it back rather than keep serving a token others can read.
  if ((mode & 0o077) !== 0) chmodSync(file, 0o600);
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new WebConfigError(
      `${file} holds no usable token (at least ${MIN_TOKEN_LENGTH} characters): delete it to have one generated`,
    );
  }
  return token;
}

/**
 * One-time login codes live in the shared database (hashed), so any proxy process can print a login URL
 * that works on whichever process serves the UI. Each code works once, for a few minutes. The table
 * is the approvals database's (src/approvals/schema.ts): `db` is an ApprovalStore's.
 */
export class LoginCodes {
  constructor(
    private readonly db: Database.Database,
    private readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  issue(): string {
    const code = randomSecret();
    const now = this.now();
    this.db.prepare('DELETE FROM ui_login_codes WHERE expires_at < ?').run(now - 24 * 3_600_000);
    this.db
      .prepare('INSERT INTO ui_login_codes (code_sha256, expires_at) VALUES (?, ?)')
      .run(digest(code).toString('hex'), now + this.ttlMs);
    return code;
  }

  /** True exactly once per issued, unexpired code; the conditional UPDATE makes a race pick one winner. */
  consume(code: string): boolean {
    if (typeof code !== 'string' || code.length === 0 || code.length > 200) return false;
    const now = this.now();
    const result = this.db
      .prepare(
        'UPDATE ui_login_codes SET used_at = ? WHERE code_sha256 = ? AND used_at IS NULL AND expires_at > ?',
      )
      .run(now, digest(code).toString('hex'), now);
    return result.changes === 1;
  }
}

export interface Session {
  /** Per-session CSRF token, put in every form and sent back as `_csrf` or `x-csrf-token`. */
  csrf: string;
  /** Who signed in: the admin token's holder, or a reviewer account; recorded with their decisions. */
  reviewer: ReviewerRef;
  expiresAt: number;
}

/** Browser sessions of the process that serves the UI; kept in memory (a restart means signing in again). */
export class Sessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs = 12 * 3_600_000,
    private readonly now: () => number = Date.now,
  ) {}

  create(reviewer: ReviewerRef): { id: string; session: Session } {
    this.prune();
    const id = randomSecret();
    const session: Session = { csrf: randomSecret(), reviewer, expiresAt: this.now() + this.ttlMs };
    this.sessions.set(digest(id).toString('hex'), session);
    return { id, session };
  }

  get(id: string | undefined): Session | undefined {
    if (!id || id.length > 200) return undefined;
    const key = digest(id).toString('hex');
    const session = this.sessions.get(key);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(key);
      return undefined;
    }
    return session;
  }

  destroy(id: string | undefined): void {
    if (id) this.sessions.delete(digest(id).toString('hex'));
  }

  private prune(): void {
    const now = this.now();
    for (const [key, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(key);
  }
}

/** Everything the web app needs to authenticate people and API clients. */
export class WebAuth {
  readonly loginCodes: LoginCodes;
  readonly sessions: Sessions;
  /** Failed sign-ins per client address (one-time codes, the token form, Bearer tokens on the API). */
  readonly signIns: SignInLimiter;
  /** Reviewer accounts (src/reviewers); without them only the admin token signs in. */
  readonly reviewers: Reviewers | undefined;
  readonly #token: string;

  constructor(options: {
    token: string;
    db: Database.Database;
    loginCodeTtlMs?: number | undefined;
    sessionTtlMs?: number | undefined;
    signInLimit?: SignInLimitOptions | undefined;
    reviewers?: Reviewers | undefined;
  }) {
    if (options.token.length < MIN_TOKEN_LENGTH) {
      throw new WebConfigError(`admin token is too short (at least ${MIN_TOKEN_LENGTH} characters)`);
    }
    this.#token = options.token;
    this.loginCodes = new LoginCodes(options.db, options.loginCodeTtlMs);
    this.sessions = new Sessions(options.sessionTtlMs);
    this.signIns = new SignInLimiter(options.signInLimit);
    this.reviewers = options.reviewers;
  }

  verifyToken(candidate: string): boolean {
    return secretsEqual(candidate, this.#token);
  }

  /** A fresh one-time login URL for the UI at `baseUrl`; the admin token never appears in it. */
  loginUrl(baseUrl: string): string {
    return `${baseUrl.replace(/\/+$/, '')}/login?code=${this.loginCodes.issue()}`;
  }

  /** Never let the token reach a log through JSON.stringify or inspection. */
  toJSON(): string {
    return '[WebAuth]';
  }
}
