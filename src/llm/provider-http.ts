import { isLlmChatError, LlmChatError } from '../errors.js';
import type { Logger } from '../types.js';
import type { LlmProviderOptions, LlmStreamEvent } from './llm-provider.js';
import { parseRetryAfter } from './parse-retry-after.js';
import { readCappedText } from './read-capped-text.js';
import { readSseBatches } from './read-sse.js';
import { extractProviderMessage, redactProviderMessage } from './redact-provider-message.js';
import type { StreamParser } from './stream-parser.js';

/** {@link LlmProviderOptions} plus an optional logger for retries. */
export interface LlmProviderRuntimeOptions extends LlmProviderOptions {
  /** Receives a `warn` for each retry. Never given secrets. */
  logger?: Logger;
}

/** One streaming POST to a provider, as the providers describe it to {@link streamProviderCall}. */
export interface ProviderHttpCall {
  /** The provider kind, for error details and logs (`openai`, `anthropic`, …). */
  kind: string;
  /** Display name used in error messages (`OpenAI`, `Anthropic`, …). */
  label: string;
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON. */
  body: unknown;
  /** Values (API key, header values) masked out of any provider message we repeat. */
  secrets: readonly string[];
  /** Turns the provider's SSE messages into normalized events; throws `LlmChatError`s. */
  createParser: () => StreamParser;
}

const DEFAULTS = {
  firstChunkTimeoutMs: 60_000,
  totalTimeoutMs: 300_000,
  maxRetries: 2,
  retryDelayMs: 500,
  maxRetryAfterMs: 30_000,
} as const;

/** Upper bound of one exponential backoff step, so a large `maxRetries` never waits minutes. */
const MAX_BACKOFF_MS = 10_000;
/** How much of an error body is read to find the provider's message. */
const MAX_ERROR_BODY_CHARS = 16_384;

const retryable = new WeakSet<LlmChatError>();

/**
 * Marks an error thrown by a stream parser as worth another attempt (for example Anthropic's
 * `overloaded_error` event), as long as nothing was streamed yet. Returns the same error.
 */
export function markRetryable(error: LlmChatError): LlmChatError {
  retryable.add(error);
  return error;
}

type StopReason = 'caller' | 'total' | 'first_chunk';

interface AttemptFailure {
  error: LlmChatError;
  retryable: boolean;
  /** The wait the provider asked for, when it said. */
  retryAfterMs?: number;
}

// The abort reason of an attempt that is over; see the finally block below.
const ATTEMPT_FINISHED = new Error('The provider call attempt finished.');

/**
 * Runs one streaming provider call over `fetch` with timeouts, bounded retries and error
 * mapping, and yields the parsed events.
 *
 * - Caller abort → `ABORTED`; the HTTP request is aborted, so the socket closes.
 * - No response headers and first body chunk within `firstChunkTimeoutMs`, or the whole call
 *   past `totalTimeoutMs` → `TIMEOUT`.
 * - 401/403 → `PROVIDER_AUTH`. 429 → retried after `Retry-After` (or backoff), then
 *   `PROVIDER_RATE_LIMITED` with `retryAfterMs`; a `Retry-After` above `maxRetryAfterMs` gives up at once.
 * - 408, 5xx, dropped connections and retryable stream errors → retried with exponential
 *   backoff and jitter, but only while no event was yielded, then `PROVIDER_ERROR`.
 * - Other 4xx → `PROVIDER_ERROR`, with the provider's own short message, redacted.
 *
 * Messages never hold the API key, headers or URL; the original failure is kept as `cause`
 * except for HTTP bodies, which may echo the key.
 */
export async function* streamProviderCall(
  call: ProviderHttpCall,
  options: LlmProviderRuntimeOptions = {},
  signal?: AbortSignal,
): AsyncGenerator<LlmStreamEvent, void, undefined> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const firstChunkTimeoutMs = options.firstChunkTimeoutMs ?? DEFAULTS.firstChunkTimeoutMs;
  const totalTimeoutMs = options.totalTimeoutMs ?? DEFAULTS.totalTimeoutMs;
  const maxRetries = Math.max(0, options.maxRetries ?? DEFAULTS.maxRetries);
  const retryDelayMs = options.retryDelayMs ?? DEFAULTS.retryDelayMs;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs;
  const details = { provider: call.kind };

  const callController = new AbortController();
  let stopReason: StopReason | undefined;
  const stop = (reason: StopReason) => {
    if (callController.signal.aborted) return;
    stopReason = reason;
    callController.abort();
  };
  const stopError = (cause?: unknown): LlmChatError => {
    const opts = { details, cause };
    if (stopReason === 'caller') return new LlmChatError('ABORTED', `The ${call.label} request was cancelled.`, opts);
    if (stopReason === 'first_chunk') {
      return new LlmChatError(
        'TIMEOUT',
        `The ${call.label} API did not start answering within ${seconds(firstChunkTimeoutMs)}.`,
        opts,
      );
    }
    return new LlmChatError('TIMEOUT', `The ${call.label} request took longer than ${seconds(totalTimeoutMs)}.`, opts);
  };

  const onCallerAbort = () => stop('caller');
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  const totalTimer = setTimeout(() => stop('total'), totalTimeoutMs);
  totalTimer.unref?.();
  const body = JSON.stringify(call.body);

  try {
    if (signal?.aborted) stop('caller');
    if (stopReason) throw stopError();

    for (let attempt = 0; ; attempt++) {
      const attemptController = new AbortController();
      const abortAttempt = () => attemptController.abort();
      callController.signal.addEventListener('abort', abortAttempt, { once: true });
      let firstChunkTimer: ReturnType<typeof setTimeout> | undefined = setTimeout(
        () => stop('first_chunk'),
        firstChunkTimeoutMs,
      );
      firstChunkTimer.unref?.();
      const clearFirstChunkTimer = () => {
        if (firstChunkTimer !== undefined) clearTimeout(firstChunkTimer);
        firstChunkTimer = undefined;
      };

      let emitted = false;
      let failure: AttemptFailure;
      try {
        const response = await fetchFn(call.url, {
          method: 'POST',
          headers: call.headers,
          body,
          signal: attemptController.signal,
        });
        if (!response.ok || response.body === null) {
          failure = await failureFromResponse(response, call, details);
        } else {
          const parser = call.createParser();
          const batches = readSseBatches(response.body, {
            signal: attemptController.signal,
            onChunk: clearFirstChunkTimer,
          });
          for await (const batch of batches) {
            // Text that arrived in one network chunk travels on as one event: every event costs
            // a step through the chat loop and an SSE frame, and the reader sees the same text.
            let text = '';
            let failure: { error: unknown } | undefined;
            try {
              for (const message of batch) {
                for (const event of parser.push(message)) {
                  emitted = true;
                  if (event.type === 'text') {
                    text += event.text;
                    continue;
                  }
                  if (text !== '') {
                    yield { type: 'text', text };
                    text = '';
                  }
                  yield event;
                }
                if (parser.done) break;
              }
            } catch (error) {
              // The text before a failure still reaches the reader (and the interrupted turn).
              failure = { error };
            }
            if (text !== '') yield { type: 'text', text };
            if (failure !== undefined) throw failure.error;
            if (parser.done) break;
          }
          for (const event of parser.end()) {
            emitted = true;
            yield event;
          }
          return;
        }
      } catch (error) {
        if (stopReason) throw stopError(error);
        failure = failureFromThrown(error, call, details);
      } finally {
        clearFirstChunkTimer();
        callController.signal.removeEventListener('abort', abortAttempt);
        // Frees the connection if the body was left half-read. A shared reason: a fresh
        // DOMException (with its stack) on every call costs more than the call's parsing.
        attemptController.abort(ATTEMPT_FINISHED);
      }
      if (stopReason) throw stopError();

      const tooLong = failure.retryAfterMs !== undefined && failure.retryAfterMs > maxRetryAfterMs;
      if (!failure.retryable || emitted || attempt >= maxRetries || tooLong) throw failure.error;

      const delayMs = failure.retryAfterMs ?? backoffMs(retryDelayMs, attempt);
      options.logger?.warn?.('LLM provider call failed; retrying.', {
        provider: call.kind,
        code: failure.error.code,
        status: failure.error.details?.status,
        attempt: attempt + 1,
        delayMs,
      });
      await sleep(delayMs, callController.signal);
      if (stopReason) throw stopError();
    }
  } finally {
    clearTimeout(totalTimer);
    signal?.removeEventListener('abort', onCallerAbort);
  }
}

async function failureFromResponse(
  response: Response,
  call: ProviderHttpCall,
  baseDetails: Record<string, unknown>,
): Promise<AttemptFailure> {
  const status = response.status;
  const details = { ...baseDetails, status };
  const providerMessage = redactProviderMessage(extractProviderMessage(await readErrorBody(response)), call.secrets);
  if (status === 401 || status === 403) {
    // The provider's text is not repeated: OpenAI's quotes part of the key.
    return {
      error: new LlmChatError(
        'PROVIDER_AUTH',
        `The ${call.label} API refused the credentials (HTTP ${status}). Check the model's API key.`,
        { details },
      ),
      retryable: false,
    };
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(response.headers);
    const error = new LlmChatError(
      'PROVIDER_RATE_LIMITED',
      `The ${call.label} API is rate limiting requests. Try again later.`,
      retryAfterMs === undefined ? { details } : { details, retryAfterMs },
    );
    return retryAfterMs === undefined ? { error, retryable: true } : { error, retryable: true, retryAfterMs };
  }
  if (status === 408 || status >= 500) {
    return {
      error: new LlmChatError('PROVIDER_ERROR', `The ${call.label} API failed (HTTP ${status}).`, { details }),
      retryable: true,
    };
  }
  if (response.ok) {
    return {
      error: new LlmChatError('PROVIDER_ERROR', `The ${call.label} API sent an empty answer.`, { details }),
      retryable: true,
    };
  }
  const suffix = providerMessage ? `: ${providerMessage}` : '.';
  return {
    error: new LlmChatError('PROVIDER_ERROR', `The ${call.label} API rejected the request (HTTP ${status})${suffix}`, {
      details,
    }),
    retryable: false,
  };
}

function failureFromThrown(error: unknown, call: ProviderHttpCall, details: Record<string, unknown>): AttemptFailure {
  if (isLlmChatError(error)) return { error, retryable: retryable.has(error) };
  // Anything else is the transport: fetch's TypeError before headers, or a body cut mid-way.
  return {
    error: new LlmChatError('PROVIDER_ERROR', `The connection to the ${call.label} API failed.`, {
      details,
      cause: error,
    }),
    retryable: true,
  };
}

async function readErrorBody(response: Response): Promise<unknown> {
  let text: string;
  try {
    text = await readCappedText(response, MAX_ERROR_BODY_CHARS);
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function backoffMs(baseMs: number, attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** attempt);
  // Jitter in [50%, 100%] so many clients that failed together do not retry together.
  return Math.round(ceiling * (0.5 + Math.random() * 0.5));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
