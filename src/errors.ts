/**
 * The one error family of mcp-llmchat: a closed set of string codes, one code → HTTP status
 * table, and one function (`toHttpError`) that turns anything thrown into an HTTP error body.
 */

/** Every code an {@link LlmChatError} can carry. The set is closed: clients may switch on it. */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'NOT_IMPLEMENTED',
  'VALIDATION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'SESSION_NOT_FOUND',
  'SESSION_EXPIRED',
  'SESSION_INVALID',
  'CONFIG_NOT_FOUND',
  'TURN_IN_PROGRESS',
  'LOCK_TIMEOUT',
  'LOCK_LOST',
  'BACKEND_UNAVAILABLE',
  'MODEL_NOT_FOUND',
  'SERVER_NOT_ALLOWED',
  'MCP_UNAVAILABLE',
  'MCP_AUTHORIZATION_REQUIRED',
  'TOOL_ERROR',
  'PROVIDER_ERROR',
  'PROVIDER_AUTH',
  'PROVIDER_RATE_LIMITED',
  'TIMEOUT',
  'ABORTED',
  'RESUME_LOST',
  'IDEMPOTENCY_KEY_REUSED',
  'EVENT_LOG_INVALID',
  'CONFIG_INVALID',
  'APPROVAL_NOT_FOUND',
  'ELICITATION_NOT_FOUND',
  'INTERNAL',
  'RATE_LIMITED',
  'BUDGET_EXCEEDED',
  'CONVERSATION_LIMIT',
] as const;

/** A stable, machine-readable error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The HTTP status each code maps to. The only such table in the library. */
export const ERROR_HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  // A method the server supports for no resource (TRACE, TRACK): RFC 9110 §9.1.
  NOT_IMPLEMENTED: 501,
  VALIDATION_FAILED: 422,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // The gateway answers "no session" with 400; clients rely on it.
  SESSION_NOT_FOUND: 400,
  SESSION_EXPIRED: 400,
  SESSION_INVALID: 500,
  CONFIG_NOT_FOUND: 404,
  TURN_IN_PROGRESS: 409,
  LOCK_TIMEOUT: 409,
  LOCK_LOST: 409,
  BACKEND_UNAVAILABLE: 503,
  MODEL_NOT_FOUND: 400,
  SERVER_NOT_ALLOWED: 400,
  MCP_UNAVAILABLE: 503,
  // The user must authorize the MCP server in a browser (`authorization_url`), then connect again.
  MCP_AUTHORIZATION_REQUIRED: 403,
  TOOL_ERROR: 502,
  PROVIDER_ERROR: 502,
  PROVIDER_AUTH: 502,
  PROVIDER_RATE_LIMITED: 429,
  TIMEOUT: 504,
  ABORTED: 499,
  // The events after the client's last id are no longer retained (sent as an SSE `error`).
  RESUME_LOST: 410,
  IDEMPOTENCY_KEY_REUSED: 422,
  EVENT_LOG_INVALID: 500,
  CONFIG_INVALID: 500,
  APPROVAL_NOT_FOUND: 404,
  ELICITATION_NOT_FOUND: 404,
  INTERNAL: 500,
  // The host's limits: too many requests or streams now, or the token budget is spent.
  RATE_LIMITED: 429,
  BUDGET_EXCEEDED: 429,
  // The user keeps `maxConversations` already: a new one needs one of them deleted first.
  CONVERSATION_LIMIT: 409,
};

/**
 * Codes whose failure is worth a retry by the client without reconnecting. Used for the
 * `recoverable` flag of SSE `error` events.
 */
const RECOVERABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TURN_IN_PROGRESS',
  'LOCK_TIMEOUT',
  'LOCK_LOST',
  'BACKEND_UNAVAILABLE',
  'TOOL_ERROR',
  'PROVIDER_ERROR',
  'PROVIDER_RATE_LIMITED',
  'TIMEOUT',
  'ABORTED',
  'RATE_LIMITED',
  'RESUME_LOST',
]);

// Symbol.for, so the brand is shared by the ESM and CJS copies of this module.
const BRAND = Symbol.for('mcp-llmchat.error');

/** Options of {@link LlmChatError}. */
export interface LlmChatErrorOptions {
  /** The underlying error, kept for the logger and never shown to clients. */
  cause?: unknown;
  /** Extra structured facts (for example the failing field of a validation error). */
  details?: Record<string, unknown>;
  /** How long the caller should wait before retrying, when the failure says so. */
  retryAfterMs?: number;
}

/**
 * The error class of the library. `message` is written for the client: it must never hold a
 * secret, a URL with credentials or raw exception text from a dependency.
 *
 * @example
 * throw new LlmChatError('MODEL_NOT_FOUND', `Model 'gpt-5' is not configured.`);
 */
export class LlmChatError extends Error {
  /** The stable code. */
  readonly code: ErrorCode;
  /** Extra structured facts, safe to show. */
  readonly details?: Record<string, unknown>;
  /** Suggested wait before a retry, in milliseconds. */
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, message: string, options: LlmChatErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LlmChatError';
    this.code = code;
    if (options.details !== undefined) this.details = options.details;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The HTTP status of this error's code. */
  get status(): number {
    return ERROR_HTTP_STATUS[this.code];
  }

  /** Whether a client may simply try again (without reconnecting). */
  get recoverable(): boolean {
    return RECOVERABLE_CODES.has(this.code);
  }

  /** True for any LlmChatError, including one thrown by another copy of this package. */
  static is(value: unknown): value is LlmChatError {
    return isLlmChatError(value);
  }
}

/** True for any {@link LlmChatError}, across the ESM and CJS copies of the package. */
export function isLlmChatError(value: unknown): value is LlmChatError {
  return (
    value instanceof LlmChatError ||
    (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true)
  );
}

/** The JSON body of every error response: `{ detail, code }`. */
export interface HttpErrorBody {
  detail: string;
  code: ErrorCode;
  /** `MCP_AUTHORIZATION_REQUIRED` only: the URL the user's browser opens to authorize. */
  authorization_url?: string;
}

/** What {@link toHttpError} returns. */
export interface HttpError {
  status: number;
  body: HttpErrorBody;
  /** Extra response headers (for example `Retry-After`). */
  headers?: Record<string, string>;
}

/**
 * Turns anything thrown into an HTTP status and body. An unknown error becomes `INTERNAL`
 * with a generic message: its own message may hold secrets and is never shown.
 */
export function toHttpError(error: unknown): HttpError {
  if (!isLlmChatError(error)) {
    return { status: 500, body: { detail: 'An unexpected error occurred.', code: 'INTERNAL' } };
  }
  const status = ERROR_HTTP_STATUS[error.code] ?? 500;
  const result: HttpError = { status, body: { detail: error.message, code: error.code } };
  const authorizationUrl = error.details?.authorization_url;
  if (error.code === 'MCP_AUTHORIZATION_REQUIRED' && typeof authorizationUrl === 'string') {
    result.body.authorization_url = authorizationUrl;
  }
  if (error.retryAfterMs !== undefined) {
    result.headers = { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) };
  }
  return result;
}

/**
 * Wraps an unknown failure in an LlmChatError of the given code, keeping the original as
 * `cause`. An LlmChatError passes through unchanged.
 * @internal
 */
export function wrapError(error: unknown, code: ErrorCode, message: string): LlmChatError {
  return isLlmChatError(error) ? error : new LlmChatError(code, message, { cause: error });
}
