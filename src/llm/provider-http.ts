import type { EventSourceMessage } from 'eventsource-parser';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import { LazyAbort } from '../internal/lazy-abort.js';
import { raceSignal } from '../internal/race-signal.js';
import { sleep } from '../internal/sleep.js';
import { unrefTimer } from '../internal/unref-timer.js';
import type { Logger } from '../types.js';
import { BatchedStreamEvents } from './batch-stream-events.js';
import { BodyBatches, type BodyDecoder } from './body-batches.js';
import type { LlmProviderOptions, LlmStreamEvent, TextSink } from './llm-provider.js';
import {
  type AttemptFailure,
  type FailureContext,
  failureFromResponse,
  failureFromThrown,
} from './provider-failure.js';
import { type ProviderPost, postWithFetch } from './provider-response.js';
import { backoffMs } from './provider-retry.js';
import { sseDecoder } from './read-sse.js';
import type { StreamParser } from './stream-parser.js';
import { postWithUndici } from './undici-post.js';

// Kept importable from here: providers written before the split import them from this module.
export type { ProviderFailureHints } from './provider-failure.js';
export { markRetryable } from './provider-retry.js';

/** {@link LlmProviderOptions} plus an optional logger for retries. */
export interface LlmProviderRuntimeOptions extends LlmProviderOptions {
  /** Receives a `warn` for each retry. Never given secrets. */
  logger?: Logger;
}

/** The request an {@link ProviderHttpCall.authorize} hook signs or adds a token to. */
export interface ProviderHttpRequest {
  url: string;
  headers: Record<string, string>;
  /** The JSON body, exactly as it is sent. */
  body: string;
}

/**
 * One streaming POST to a provider, as the providers describe it to {@link streamProviderCall}.
 * `M` is the wire message type: SSE messages unless `createDecoder` decodes something else (AWS's
 * binary event stream).
 */
export interface ProviderHttpCall<M = EventSourceMessage> {
  /** The provider kind, for error details and logs (`openai`, `anthropic`, …). */
  kind: string;
  /** Display name used in error messages (`OpenAI`, `Anthropic`, …). */
  label: string;
  url: string;
  headers: Record<string, string>;
  /**
   * Sent as JSON; a string is sent as it is (already JSON text). Held until the first event is
   * out (a retry sends it again), then let go.
   */
  body: unknown;
  /** Values (API key, header values) masked out of any provider message we repeat. */
  secrets: readonly string[];
  /** Turns the provider's wire messages into normalized events; throws `LlmChatError`s. */
  createParser: () => StreamParser<M>;
  /** Decodes the response body into messages (AWS's binary event stream, …). @default SSE */
  createDecoder?: () => Promise<BodyDecoder<M>>;
  /**
   * Runs before every attempt, under the call's timeouts and abort, and returns the headers to
   * send: a fresh SigV4 signature, an IAM or host access token. Header values it adds are
   * treated as secrets. A thrown `LlmChatError` fails the attempt as it is (retried only when
   * marked retryable); anything else is `PROVIDER_AUTH`.
   */
  authorize?: (request: ProviderHttpRequest, signal: AbortSignal) => Promise<Record<string, string>>;
  /**
   * Reads what the status alone does not say from a refused response's JSON body: that the
   * credentials were refused (Gemini answers a bad key with 400), or how long to wait.
   */
  readFailure?: FailureContext['readFailure'];
}

const DEFAULTS = {
  firstChunkTimeoutMs: 60_000,
  totalTimeoutMs: 300_000,
  maxRetries: 2,
  retryDelayMs: 500,
  maxRetryAfterMs: 30_000,
} as const;

type StopReason = 'caller' | 'total' | 'first_chunk';

// The abort reason of an attempt that is over; see the finally block below.
const ATTEMPT_FINISHED = new Error('The provider call attempt finished.');

/**
 * Runs one streaming provider call with timeouts, bounded retries and error mapping, and yields
 * the parsed events. The call goes over undici's dispatcher (`postWithUndici`) unless the host
 * passed a `fetch` (or undici cannot load there: then over the global `fetch`).
 *
 * - Caller abort → `ABORTED`; the HTTP request is aborted, so the socket closes.
 * - No response headers and first body chunk within `firstChunkTimeoutMs`, or the whole call
 *   past `totalTimeoutMs` → `TIMEOUT`.
 * - 401/403 → `PROVIDER_AUTH`. 429 → retried after `Retry-After` (or backoff), then
 *   `PROVIDER_RATE_LIMITED` with `retryAfterMs`; a `Retry-After` above `maxRetryAfterMs` gives up at once.
 * - 408, 5xx, dropped connections and retryable stream errors → retried with exponential
 *   backoff and jitter, but only while no event was yielded, then `PROVIDER_ERROR`.
 * - Other 4xx → `PROVIDER_ERROR`, with the provider's own short message, redacted.
 * - A redirect is not followed (it would carry the key elsewhere) → `PROVIDER_ERROR`.
 *
 * Messages never hold the API key, headers or URL; the original failure is kept as `cause`
 * except for HTTP bodies, which may echo the key.
 */
export function streamProviderCall<M = EventSourceMessage>(
  call: ProviderHttpCall<M>,
  options: LlmProviderRuntimeOptions = {},
  signal?: AbortSignal,
  onText?: TextSink,
): AsyncGenerator<LlmStreamEvent, void, undefined> {
  // The body goes in apart from the rest, so that nothing but `callEvents`' own variable holds
  // it: it lets the body go once the call cannot be sent again. A body is the whole conversation
  // and the tools' schemas, and a turn's stream stays open for as long as the model writes.
  const { body, ...described } = call;
  return callEvents(described, body, options, signal, onText);
}

/** A call without its body, which {@link callEvents} holds apart. */
type DescribedCall<M> = Omit<ProviderHttpCall<M>, 'body'>;

/** {@link streamProviderCall}'s work; `body` is as the call gave it. */
async function* callEvents<M>(
  call: DescribedCall<M>,
  body: unknown,
  options: LlmProviderRuntimeOptions,
  signal: AbortSignal | undefined,
  onText: TextSink | undefined,
): AsyncGenerator<LlmStreamEvent, void, undefined> {
  const post: ProviderPost = options.fetch ? postWithFetch(options.fetch) : postWithUndici;
  const firstChunkTimeoutMs = options.firstChunkTimeoutMs ?? DEFAULTS.firstChunkTimeoutMs;
  const totalTimeoutMs = options.totalTimeoutMs ?? DEFAULTS.totalTimeoutMs;
  const maxRetries = Math.max(0, options.maxRetries ?? DEFAULTS.maxRetries);
  const retryDelayMs = options.retryDelayMs ?? DEFAULTS.retryDelayMs;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs;
  const failureContext: FailureContext = {
    label: call.label,
    details: { provider: call.kind },
    secrets: call.secrets,
    ...(call.readFailure ? { readFailure: call.readFailure } : {}),
  };

  let stopReason: StopReason | undefined;
  // What runs now (an attempt, or the pause before a retry); stopping the call aborts it. An
  // attempt's abort is a `LazyAbort`: a real signal only for a host's fetch or credentials hook.
  let running: { abort(reason?: unknown): void } | undefined;
  const stop = (reason: StopReason) => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    running?.abort();
  };
  const stopError = (cause?: unknown): LlmChatError => {
    const opts = { details: failureContext.details, cause };
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
  unrefTimer(totalTimer);
  // Sent by each attempt, until an event is out: then no attempt follows and it is let go. Read
  // through `bodyToSend` only: a local copy in this generator's frame would keep it.
  let requestBody: string | undefined;
  const bodyToSend = (): string => {
    // Unreachable: no attempt follows an event (see below the attempt's catch).
    if (requestBody === undefined) throw new Error('The provider request body was already let go.');
    return requestBody;
  };

  try {
    requestBody = typeof body === 'string' ? body : JSON.stringify(body);
    body = undefined;
    if (signal?.aborted) stop('caller');
    if (stopReason) throw stopError();

    for (let attempt = 0; ; attempt++) {
      const attemptAbort = new LazyAbort();
      running = attemptAbort;
      let firstChunkTimer: ReturnType<typeof setTimeout> | undefined = setTimeout(
        () => stop('first_chunk'),
        firstChunkTimeoutMs,
      );
      unrefTimer(firstChunkTimer);
      const clearFirstChunkTimer = () => {
        if (firstChunkTimer !== undefined) clearTimeout(firstChunkTimer);
        firstChunkTimer = undefined;
      };

      let emitted = false;
      // Set once the body was read to its end or cancelled by its reader: nothing left to free.
      let bodySettled = false;
      let failure: AttemptFailure;
      let context = failureContext;
      try {
        const headers = call.authorize
          ? await authorizeAttempt(
              call,
              { url: call.url, headers: call.headers, body: bodyToSend() },
              attemptAbort.signal,
            )
          : call.headers;
        // A token or signature the hook added is as secret as the API key.
        if (headers !== call.headers) context = copyWith(failureContext, { secrets: addedSecrets(call, headers) });
        const response = await post(call.url, { headers, body: bodyToSend(), signal: attemptAbort });
        if (!response.ok || response.body === null) {
          failure = await failureFromResponse(response, context);
        } else {
          const decoder = call.createDecoder ? await call.createDecoder() : (sseDecoder() as unknown as BodyDecoder<M>);
          const batches = new BodyBatches(response.body, decoder, {
            signal: attemptAbort,
            onChunk: clearFirstChunkTimer,
          });
          // The sink's hold, once `onBatch` took one, until this loop waits it out.
          let held: Promise<void> | undefined;
          try {
            // Once an event is out, the call is never retried (the reader has seen output).
            const events = new BatchedStreamEvents(call.createParser(), call.label);
            // Text is handed over right after the network read that brought it, with no promise;
            // what this loop must do itself (yield another event, wait out a hold) stops the
            // body's reading until it is done. Everything after such an event waits its turn.
            const later: LlmStreamEvent[] = [];
            const onBatch = (batch: M[]): boolean => {
              for (const event of events.of(batch)) {
                if (!emitted) {
                  emitted = true;
                  requestBody = undefined;
                }
                if (onText !== undefined && event.type === 'text' && later.length === 0 && held === undefined) {
                  held = handOver(onText, event.text);
                } else later.push(event);
              }
              return later.length === 0 && held === undefined && !events.failed && !events.done;
            };
            // Once the body is over, one more round hands out the parser's closing events.
            for (let reading = true; ; ) {
              const more = reading && (await batches.readEach(onBatch));
              if (held !== undefined) {
                const hold = held;
                held = undefined;
                await hold;
              }
              for (let event = later.shift(); event !== undefined; event = later.shift()) {
                if (onText === undefined || event.type !== 'text') yield event;
                else {
                  const hold = handOver(onText, event.text);
                  if (hold !== undefined) await hold;
                }
              }
              events.throwIfFailed();
              if (!reading) break;
              if (!more || events.done) {
                // Before the closing events are handled (tool calls run then): the connection is free.
                await batches.close();
                reading = false;
                for (const event of events.end()) later.push(event);
                if (later.length > 0) {
                  emitted = true;
                  requestBody = undefined;
                }
              }
            }
          } finally {
            // A hold left behind by a throw (the sink aborted the call, the read failed): its
            // rejection has no one left to hear it, and unheard it would end the process.
            held?.catch(() => {});
            await batches.close();
          }
          bodySettled = true;
          return;
        }
      } catch (error) {
        // The caller's own failure, not the provider's: it goes out as it is.
        if (error instanceof HandOverFailure) throw error.cause;
        if (stopReason) throw stopError(error);
        failure = failureFromThrown(error, context);
      } finally {
        clearFirstChunkTimer();
        running = undefined;
        // Frees the connection if the body was left half-read. A shared reason: a fresh
        // DOMException (with its stack) on every call costs more than the call's parsing. Not
        // after a body read to its end: a real signal's event dispatch costs 5-9 µs for nothing.
        if (!bodySettled) attemptAbort.abort(ATTEMPT_FINISHED);
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
      const pause = new AbortController();
      running = pause;
      await sleep(delayMs, pause.signal);
      running = undefined;
      if (stopReason) throw stopError();
    }
  } finally {
    clearTimeout(totalTimer);
    signal?.removeEventListener('abort', onCallerAbort);
  }
}

/** What a {@link TextSink} threw (or its hold rejected with), kept apart from the provider's failures. */
class HandOverFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * Gives `text` to `sink`: the hold it returns, if any, to wait out. Synchronous when there is
 * none, so a token handed over costs no promise.
 */
function handOver(sink: TextSink, text: string): Promise<void> | undefined {
  let held: Promise<void> | undefined;
  try {
    held = sink(text);
  } catch (error) {
    throw new HandOverFailure(error);
  }
  return held?.catch((error: unknown) => {
    throw new HandOverFailure(error);
  });
}

/** Runs the call's `authorize` hook, bounded by the attempt's signal. */
async function authorizeAttempt<M>(
  call: DescribedCall<M>,
  request: ProviderHttpRequest,
  signal: AbortSignal,
): Promise<Record<string, string>> {
  const authorize = call.authorize as NonNullable<DescribedCall<M>['authorize']>;
  try {
    // A host credentials function that never settles must not outlive the call's timeouts.
    return await raceSignal(authorize(request, signal), signal);
  } catch (error) {
    if (signal.aborted || isLlmChatError(error)) throw error;
    throw new LlmChatError('PROVIDER_AUTH', `Could not get credentials for the ${call.label} API.`, {
      details: { provider: call.kind },
      cause: error,
    });
  }
}

function addedSecrets<M>(call: DescribedCall<M>, headers: Record<string, string>): string[] {
  const secrets = [...call.secrets];
  for (const [name, value] of Object.entries(headers)) {
    if (call.headers[name] !== value) secrets.push(value, value.replace(/^bearer\s+/i, ''));
  }
  return secrets;
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
