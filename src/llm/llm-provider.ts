import type { FetchLike, ThinkingBlock, TokenUsage, ToolSpec, TranscriptMessage } from '../types.js';

/** One request to an LLM: the conversation so far and the tools it may call. */
export interface LlmRequest {
  /** The provider's model name (already resolved from the registry id). */
  model: string;
  /** An optional system prompt, sent the way the provider expects it. */
  system?: string;
  /** The transcript, oldest first. */
  messages: TranscriptMessage[];
  /** Tools the model may call; empty or absent means none (tool calling disabled). */
  tools?: readonly ToolSpec[];
  temperature?: number;
  maxTokens?: number;
  /** Whether tool images may be sent as image parts. @default false */
  vision?: boolean;
}

/** Why the model stopped. */
export type FinishReason = 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'other';

/** The normalized events every provider yields, whatever its wire format. */
export type LlmStreamEvent =
  /** A chunk of answer text. */
  | { type: 'text'; text: string }
  /** A chunk of the model's reasoning: never part of the answer, shown only where a host asks. */
  | { type: 'reasoning'; text: string }
  /** A complete signed reasoning block, to be kept in the transcript and sent back verbatim. */
  | { type: 'thinking'; block: ThinkingBlock }
  /** A complete tool call, its arguments assembled from the streamed deltas and parsed. */
  | { type: 'tool_call'; id: string; name: string; arguments: Record<string, unknown>; signature?: string }
  /** Token counts of this call. */
  | { type: 'usage'; usage: TokenUsage }
  /** The last event of a successful call. */
  | { type: 'finish'; reason: FinishReason };

/** Per-call options of {@link LlmProvider.stream}. */
export interface LlmCallOptions {
  /** Aborts the HTTP request and ends the iterable with an `ABORTED` error. */
  signal?: AbortSignal;
  /** Extra request headers of this call (for example W3C `traceparent`); not treated as secrets. */
  headers?: Readonly<Record<string, string>>;
  /**
   * Takes the answer's text as it comes, in place of `text` events: the events the call yields
   * are then the others, in the same order around the text. A promise it returns holds the call
   * back (no more of the body is read) until it settles. The built-in providers honor it; the
   * caller still handles `text` events from a provider that does not.
   */
  onText?: TextSink;
}

/** Takes a piece of streamed text; a promise it returns holds the producer back until it settles. */
export type TextSink = (text: string) => Promise<void> | undefined;

/**
 * A streaming LLM API. Implementations speak one wire format over plain `fetch` and turn
 * failures into `LlmChatError`s (`PROVIDER_AUTH`, `PROVIDER_RATE_LIMITED`, `PROVIDER_ERROR`,
 * `TIMEOUT`, `ABORTED`) whose messages never contain the API key.
 */
export interface LlmProvider {
  /** The provider kind, for logs and `/connect`'s `provider` field. */
  readonly kind: string;
  /** Streams one call. The iterable ends after a `finish` event, or throws. */
  stream(request: LlmRequest, options?: LlmCallOptions): AsyncIterable<LlmStreamEvent>;
}

/** Options every provider constructor takes. */
export interface LlmProviderOptions {
  /**
   * A `fetch` to send the provider's requests through (a proxy's dispatcher, a mock, a runtime's
   * own). Without one they go over undici's dispatcher (a connection pool of the library's own),
   * read without the web streams a `fetch` answer is made of.
   */
  fetch?: FetchLike;
  /** Time allowed until the first byte of the answer stream. @default 60000 */
  firstChunkTimeoutMs?: number;
  /** Time allowed for a whole call. @default 300000 */
  totalTimeoutMs?: number;
  /** Retries on 429, 5xx and dropped connections before any output. @default 2 */
  maxRetries?: number;
  /** First backoff delay; doubled on each retry, with jitter. @default 500 */
  retryDelayMs?: number;
  /** The longest `Retry-After` the provider will honour before giving up. @default 30000 */
  maxRetryAfterMs?: number;
}
