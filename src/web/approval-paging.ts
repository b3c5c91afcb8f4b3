// Paging parameters of approval lists, shared by GET /api/approvals and the Pending page: strict, so a typo is a 400.
import {
  APPROVAL_STATUSES,
  ApprovalQueryError,
  type ApprovalStatus,
  PAGE_LIMIT_MAX,
} from '../approvals/index.js';

export interface ApprovalListParams {
  status: ApprovalStatus;
  agent?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface ApprovalListRules {
  /** Whether `status` may be given (the Pending page lists pending approvals only). */
  status: boolean;
  defaultLimit: number;
  maxLimit: number;
}

/** The API: any status, pages of up to 1000 (100 unless asked). */
export const API_LIST: ApprovalListRules = { status: true, defaultLimit: 100, maxLimit: PAGE_LIMIT_MAX };
/** The Pending page: cards are tall, and a reviewer pages or filters by agent rather than scrolls. */
export const PAGE_LIST: ApprovalListRules = { status: false, defaultLimit: 20, maxLimit: 100 };

const AGENT_MAX = 200;

/** Reads the parameters; throws ApprovalQueryError naming the first bad one. An empty value means "not set". */
export function parseApprovalListParams(
  params: URLSearchParams,
  rules: ApprovalListRules,
  /** Other parameters the caller reads itself (the page's flash message after a decision). */
  extra: readonly string[] = [],
): ApprovalListParams {
  const allowed = new Set(['agent', 'limit', 'cursor', ...(rules.status ? ['status'] : [])]);
  const known = new Set([...allowed, ...extra]);
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!known.has(key)) {
      throw new ApprovalQueryError(`unknown parameter "${short(key)}" (use ${[...allowed].join(', ')})`);
    }
    if (seen.has(key)) throw new ApprovalQueryError(`"${short(key)}" is given more than once`);
    seen.add(key);
  }
  const value = (key: string): string | undefined => {
    const raw = params.get(key)?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const status = value('status') ?? 'pending';
  if (!isStatus(status)) {
    throw new ApprovalQueryError(
      `status must be one of ${APPROVAL_STATUSES.join(', ')}, not "${short(status)}"`,
    );
  }
  const agent = value('agent');
  if (agent !== undefined && agent.length > AGENT_MAX) {
    throw new ApprovalQueryError(`"agent" is longer than ${AGENT_MAX} characters`);
  }
  const rawLimit = value('limit');
  let limit = rules.defaultLimit;
  if (rawLimit !== undefined) {
    limit = /^\d{1,7}$/.test(rawLimit) ? Number(rawLimit) : Number.NaN;
    if (!(limit >= 1 && limit <= rules.maxLimit)) {
      throw new ApprovalQueryError(
        `limit must be a whole number from 1 to ${rules.maxLimit}, not "${short(rawLimit)}"`,
      );
    }
  }
  return { status, agent, limit, cursor: value('cursor') };
}

/** A query string (with `?`, or '') for these parameters; defaults are left out so links stay short. */
export function approvalListSearch(params: Partial<ApprovalListParams>, rules: ApprovalListRules): string {
  const search = new URLSearchParams();
  if (rules.status && params.status !== undefined) search.set('status', params.status);
  if (params.agent !== undefined) search.set('agent', params.agent);
  if (params.limit !== undefined && params.limit !== rules.defaultLimit)
    search.set('limit', String(params.limit));
  if (params.cursor !== undefined) search.set('cursor', params.cursor);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

function isStatus(value: string): value is ApprovalStatus {
  return (APPROVAL_STATUSES as readonly string[]).includes(value);
}

/** Echo user input in a message, but not at any length. */
function short(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
