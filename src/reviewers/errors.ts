// The reviewer accounts' one error class: its code says what went wrong (the CLI, API and pages map it).
export type ReviewerErrorCode =
  | 'E_REVIEWER_EXISTS'
  | 'E_REVIEWER_NOT_FOUND'
  | 'E_REVIEWER_INVALID'
  | 'E_REVIEWER_WEAK_PASSWORD';

export class ReviewerError extends Error {
  readonly code: ReviewerErrorCode;

  constructor(code: ReviewerErrorCode, message: string) {
    super(message);
    this.name = 'ReviewerError';
    this.code = code;
  }

  /** The HTTP status the web app answers with. */
  get status(): 400 | 404 | 409 {
    if (this.code === 'E_REVIEWER_NOT_FOUND') return 404;
    if (this.code === 'E_REVIEWER_EXISTS') return 409;
    return 400;
  }
}
