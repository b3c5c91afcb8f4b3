// Reviewer accounts as the rest of Portcullis uses them: manage (audited), and sign in by token or password.
import { randomBytes } from 'node:crypto';
import type { ReviewerRef } from '../approvals/index.js';
import type { AuditSink, ReviewerAuditEvent } from '../audit/index.js';
import {
  checkPasswordStrength,
  hashPassword,
  looksLikeToken,
  newToken,
  tokenSha256,
  UNUSABLE_HASH,
  verifyPassword,
} from './credentials.js';
import { ReviewerError } from './errors.js';
import type { SqliteReviewerStore, StoredReviewer } from './store.js';

/** An account as pages, the API and the CLI show it: which credentials it has, never their hashes. */
export interface ReviewerView {
  id: string;
  name: string;
  created_at: string;
  disabled_at: string | null;
  credentials: ('token' | 'password')[];
  token_created_at: string | null;
  password_set_at: string | null;
  last_sign_in: string | null;
}

const NAME = /^[A-Za-z0-9._-](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-])?$/;
const ID = /^rv_[0-9a-f]{16}$/;

export function validName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (!NAME.test(trimmed)) {
    throw new ReviewerError(
      'E_REVIEWER_INVALID',
      'a reviewer name has 1 to 64 characters: letters, digits, space, dot, underscore and hyphen',
    );
  }
  // "admin" names the admin token's holder in every record: an account of that name would blur who decided.
  if (trimmed.toLowerCase() === 'admin') {
    throw new ReviewerError('E_REVIEWER_INVALID', '"admin" is the admin token\'s name; pick another');
  }
  return trimmed;
}

function view(row: StoredReviewer): ReviewerView {
  const credentials: ReviewerView['credentials'] = [];
  if (row.token_sha256 !== null) credentials.push('token');
  if (row.password_hash !== null) credentials.push('password');
  return {
    id: row.id,
    name: row.name,
    created_at: row.created_at,
    disabled_at: row.disabled_at,
    credentials,
    token_created_at: row.token_created_at,
    password_set_at: row.password_set_at,
    last_sign_in: row.last_sign_in,
  };
}

const refOf = (row: StoredReviewer): ReviewerRef => ({ id: row.id, name: row.name, kind: 'reviewer' });

export interface ReviewersOptions {
  store: SqliteReviewerStore;
  /** Where every change is recorded; without it (read-only uses) nothing may change. */
  audit?: AuditSink | undefined;
  now?: (() => number) | undefined;
}

export class Reviewers {
  private readonly store: SqliteReviewerStore;
  private readonly now: () => number;

  constructor(private readonly options: ReviewersOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
  }

  list(): ReviewerView[] {
    return this.store.all().map(view);
  }

  /** By id (`rv_…`) or name; undefined when there is none. */
  find(idOrName: string): ReviewerView | undefined {
    const row = this.row(idOrName);
    return row && view(row);
  }

  /** A new account; with no password it gets a personal token, returned here once. */
  async add(
    input: { name: string; password?: string | undefined; token?: boolean | undefined },
    by: string,
  ): Promise<{ reviewer: ReviewerView; token?: string }> {
    const name = validName(input.name);
    if (input.password !== undefined) checkPasswordStrength(input.password);
    const at = this.iso();
    const token = input.token === true || input.password === undefined ? newToken() : undefined;
    const row: StoredReviewer = {
      id: `rv_${randomBytes(8).toString('hex')}`,
      name,
      created_at: at,
      disabled_at: null,
      token_sha256: token === undefined ? null : tokenSha256(token),
      token_created_at: token === undefined ? null : at,
      password_hash: input.password === undefined ? null : await hashPassword(input.password),
      password_set_at: input.password === undefined ? null : at,
      last_sign_in: null,
    };
    this.store.insert(row);
    await this.record('added', row, by);
    if (token !== undefined) await this.record('token_issued', row, by);
    if (input.password !== undefined) await this.record('password_set', row, by);
    return { reviewer: view(row), ...(token !== undefined && { token }) };
  }

  /** A new personal token (the old one stops working), returned here once. */
  async issueToken(idOrName: string, by: string): Promise<{ reviewer: ReviewerView; token: string }> {
    const row = this.existing(idOrName);
    const token = newToken();
    this.store.update(row.id, { token_sha256: tokenSha256(token), token_created_at: this.iso() });
    await this.record('token_issued', row, by);
    return { reviewer: this.viewOf(row.id), token };
  }

  async setPassword(idOrName: string, password: string, by: string): Promise<ReviewerView> {
    const row = this.existing(idOrName);
    const hash = await hashPassword(password);
    this.store.update(row.id, { password_hash: hash, password_set_at: this.iso() });
    await this.record('password_set', row, by);
    return this.viewOf(row.id);
  }

  async disable(idOrName: string, by: string): Promise<ReviewerView> {
    const row = this.existing(idOrName);
    if (row.disabled_at === null) {
      this.store.update(row.id, { disabled_at: this.iso() });
      await this.record('disabled', row, by);
    }
    return this.viewOf(row.id);
  }

  async enable(idOrName: string, by: string): Promise<ReviewerView> {
    const row = this.existing(idOrName);
    if (row.disabled_at !== null) {
      this.store.update(row.id, { disabled_at: null });
      await this.record('enabled', row, by);
    }
    return this.viewOf(row.id);
  }

  async remove(idOrName: string, by: string): Promise<ReviewerView> {
    const row = this.existing(idOrName);
    this.store.delete(row.id);
    await this.record('removed', row, by);
    return view(row);
  }

  /** The active account holding this personal token (sign-in form or Bearer); undefined otherwise. */
  byToken(token: string, signIn = false): ReviewerRef | undefined {
    if (!looksLikeToken(token)) return undefined;
    const row = this.store.byTokenSha256(tokenSha256(token));
    if (!row || row.disabled_at !== null) return undefined;
    if (signIn) this.store.update(row.id, { last_sign_in: this.iso() });
    return refOf(row);
  }

  /** The active account of this name and password; undefined otherwise (after the same slow hash either way). */
  async byPassword(name: string, password: string): Promise<ReviewerRef | undefined> {
    const row = typeof name === 'string' && name.length <= 64 ? this.store.byName(name.trim()) : undefined;
    const ok = await verifyPassword(password, row?.password_hash ?? UNUSABLE_HASH);
    if (!ok || !row || row.password_hash === null || row.disabled_at !== null) return undefined;
    this.store.update(row.id, { last_sign_in: this.iso() });
    return refOf(row);
  }

  /** Whether a session of this account may go on: it exists and is not disabled. */
  isActive(id: string): boolean {
    return this.store.isActive(id);
  }

  close(): void {
    this.store.close();
  }

  private row(idOrName: string): StoredReviewer | undefined {
    if (typeof idOrName !== 'string') return undefined;
    return ID.test(idOrName) ? this.store.byId(idOrName) : this.store.byName(idOrName.trim());
  }

  private existing(idOrName: string): StoredReviewer {
    const row = this.row(idOrName);
    if (!row) throw new ReviewerError('E_REVIEWER_NOT_FOUND', `no reviewer ${idOrName}`);
    return row;
  }

  private viewOf(id: string): ReviewerView {
    const row = this.store.byId(id);
    if (!row) throw new ReviewerError('E_REVIEWER_NOT_FOUND', `no reviewer ${id}`);
    return view(row);
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  /** Id, name, action and who: never a token, hash or password. */
  private async record(action: ReviewerAuditEvent['action'], row: StoredReviewer, by: string): Promise<void> {
    const event: ReviewerAuditEvent = { event: 'reviewer', action, reviewer: row.id, name: row.name, by };
    await this.options.audit?.append(event);
  }

  toJSON(): string {
    return '[Reviewers]';
  }
}
