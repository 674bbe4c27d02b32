import { isLlmChatError, LlmChatError } from '../errors.js';
import { maskErrorChain } from '../internal/mask-error-chain.js';
import { parseRetryAfter } from './parse-retry-after.js';
import type { ProviderResponse } from './provider-response.js';
import { isMarkedRetryable } from './provider-retry.js';
import { readErrorBody } from './read-error-body.js';
import { extractProviderMessage, redactProviderMessage } from './redact-provider-message.js';

/** One failed attempt of a provider call, mapped onto the library's error table. @internal */
export interface AttemptFailure {
  error: LlmChatError;
  retryable: boolean;
  /** The wait the provider asked for, when it said. */
  retryAfterMs?: number;
}

/** What the failure mapping needs to know about the call. @internal */
export interface FailureContext {
  /** Display name used in messages (`OpenAI`, `Anthropic`, …). */
  label: string;
  /** Put in every error's `details` (`{ provider }`). */
  details: Record<string, unknown>;
  /** Values masked out of any provider message we repeat. */
  secrets: readonly string[];
  /** Reads what the status alone does not say from a refused response's JSON body. */
  readFailure?: (status: number, body: unknown) => ProviderFailureHints | undefined;
}

/** What {@link FailureContext.readFailure} found in an error body. */
export interface ProviderFailureHints {
  /** The credentials were refused: `PROVIDER_AUTH`, whatever the status. */
  auth?: boolean;
  /** The wait the provider asked for, when its body says so. */
  retryAfterMs?: number;
}

/**
 * Maps a non-OK (or body-less) response: 401/403 → `PROVIDER_AUTH` (the provider's text is not
 * repeated: OpenAI's quotes part of the key); 429 → `PROVIDER_RATE_LIMITED` with `retryAfterMs`,
 * retryable; 408 and 5xx → `PROVIDER_ERROR`, retryable; other 4xx → `PROVIDER_ERROR` with the
 * provider's own short message, redacted; a redirect (3xx) → `PROVIDER_ERROR` naming it, not
 * retried.
 * @internal
 */
export async function failureFromResponse(
  response: ProviderResponse,
  context: FailureContext,
): Promise<AttemptFailure> {
  const { label } = context;
  const status = response.status;
  const details = { ...context.details, status };
  // The undici transport answers a redirect instead of following it (fetch refuses it first).
  if (status >= 300 && status < 400) {
    response.body
      ?.getReader()
      .cancel()
      .catch(() => {});
    return { error: redirectRefused(context), retryable: false };
  }
  const errorBody = await readErrorBody(response);
  const providerMessage = redactProviderMessage(extractProviderMessage(errorBody), context.secrets);
  const hints = response.ok ? undefined : context.readFailure?.(status, errorBody);
  if (status === 401 || status === 403 || hints?.auth === true) {
    return {
      error: new LlmChatError(
        'PROVIDER_AUTH',
        `The ${label} API refused the credentials (HTTP ${status}). Check the model's API key.`,
        { details },
      ),
      retryable: false,
    };
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(response.headers) ?? hints?.retryAfterMs;
    const error = new LlmChatError(
      'PROVIDER_RATE_LIMITED',
      `The ${label} API is rate limiting requests. Try again later.`,
      retryAfterMs === undefined ? { details } : { details, retryAfterMs },
    );
    return retryAfterMs === undefined ? { error, retryable: true } : { error, retryable: true, retryAfterMs };
  }
  if (status === 408 || status >= 500) {
    return {
      error: new LlmChatError('PROVIDER_ERROR', `The ${label} API failed (HTTP ${status}).`, { details }),
      retryable: true,
    };
  }
  if (response.ok) {
    return {
      error: new LlmChatError('PROVIDER_ERROR', `The ${label} API sent an empty answer.`, { details }),
      retryable: true,
    };
  }
  const suffix = providerMessage ? `: ${providerMessage}` : '.';
  return {
    error: new LlmChatError('PROVIDER_ERROR', `The ${label} API rejected the request (HTTP ${status})${suffix}`, {
      details,
    }),
    retryable: false,
  };
}

/**
 * Maps a throw during an attempt: an `LlmChatError` (a parser's verdict) stays as it is,
 * retryable only when marked so; a request the HTTP client refused to send (a header value with a
 * line break) → `PROVIDER_ERROR` saying so, not retried; anything else is the transport (fetch's
 * `TypeError` before headers, a body cut mid-way) → `PROVIDER_ERROR`, retryable, with the
 * original as `cause` unless it quotes a secret.
 * @internal
 */
export function failureFromThrown(error: unknown, context: FailureContext): AttemptFailure {
  if (isLlmChatError(error)) return { error, retryable: isMarkedRetryable(error) };
  if (isRefusedRedirect(error)) return { error: redirectRefused(context), retryable: false };
  if (isRefusedRequest(error)) return { error: requestRefused(context), retryable: false };
  return {
    error: new LlmChatError('PROVIDER_ERROR', `The connection to the ${context.label} API failed.`, {
      details: context.details,
      cause: withoutSecrets(error, context.secrets),
    }),
    retryable: true,
  };
}

/**
 * Whether the HTTP client refused the request as built: undici's `InvalidArgumentError` (a header
 * value with a line break, a header it does not let callers set), or a fetch's `TypeError` about
 * an invalid header value or name. Sending it again would fail the same way.
 */
function isRefusedRequest(error: unknown): boolean {
  if ((error as { code?: unknown } | null)?.code === 'UND_ERR_INVALID_ARG') return true;
  return error instanceof TypeError && /\binvalid header (?:value|name)\b/i.test(error.message);
}

// No cause: fetch's message quotes the header value, which is usually the API key.
function requestRefused(context: FailureContext): LlmChatError {
  const message = `The ${context.label} request could not be sent: the HTTP client refused one of its headers (the API key or a configured header).`;
  return new LlmChatError('PROVIDER_ERROR', message, { details: context.details });
}

/** `error` with each secret of the call masked along its cause chain (4 characters or more). */
function withoutSecrets(error: unknown, secrets: readonly string[]): unknown {
  return maskErrorChain(error, (text) => {
    let masked = text;
    for (const secret of secrets) if (secret.length >= 4) masked = masked.split(secret).join('*****');
    return masked;
  });
}

function redirectRefused(context: FailureContext): LlmChatError {
  const message = `The ${context.label} API answered with a redirect, which is not followed; check the base URL.`;
  return new LlmChatError('PROVIDER_ERROR', message, { details: context.details });
}

/**
 * Whether fetch failed because the provider redirected (requests are sent with `redirect:
 * 'error'`). Node's fetch says so only in its error's cause; another fetch is read as a plain
 * connection failure.
 */
function isRefusedRedirect(error: unknown): boolean {
  const cause = error instanceof TypeError ? (error as { cause?: unknown }).cause : undefined;
  return cause instanceof Error && /\bredirect\b/i.test(cause.message);
}
