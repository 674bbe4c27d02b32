import { LlmChatError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import type { ProviderBody } from '../llm/provider-response.js';
import type { FetchLike } from '../types.js';
import { onAbort } from './abort-fanout.js';
import { EXCHANGE_END_KEY, type ExchangeEndReason, McpMessageTooLargeError } from './exchange-end.js';
import { discardBody, type ExchangeAnswer, type ExchangeRequest, requestOverUndici } from './exchange-request.js';
import type { SecretRedactor } from './secret-redactor.js';
import { SseEventSizer } from './sse-event-sizer.js';

/** A JSON-RPC request id. */
export type RequestId = string | number;

/** How the body of a request's response was framed. */
export type ResponseKind = 'json' | 'sse';

/** Options of {@link McpHttpExchanges}. */
export interface McpHttpExchangesOptions {
  /**
   * The fetch that does the work. Without one, requests go over undici's dispatcher without
   * fetch's layer, and a redirect is answered, not followed (see `requestOverUndici`).
   */
  fetch?: FetchLike;
  /** The longest one message may be: a JSON body, or one event of an event stream. */
  maxMessageBytes: number;
  /** The server URL the connection was configured with; requests there skip `isUrlAllowed`. */
  serverUrl: URL;
  /** Decides every other URL (a legacy-SSE message endpoint, a redirect target). */
  isUrlAllowed?: (url: URL) => boolean;
  /**
   * The legacy HTTP+SSE transport: its GET event stream is the session, so that stream ending,
   * breaking or growing past the limit calls `onStreamLost` (the connection closes itself and
   * every waiting request fails at once, instead of at its timeout).
   */
  legacySse?: boolean;
  onStreamLost?: () => void;
  /** Learns the header values sent and masks them in error bodies. */
  redactor: SecretRedactor;
}

interface Exchange {
  readonly controller: AbortController;
  readonly requestIds: RequestId[];
  /** Why we tore it down, when we did. */
  ended?: ExchangeEndReason;
}

/** One reply waiting for a slot: resolved when a slot is handed to it, rejected on close. */
interface QueuedReply {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Replies to the server's own requests (pings, elicitations) in flight at once, per connection.
 * The SDK POSTs a reply to every request the moment it is handled, so a server sending thousands
 * of pings and holding the replies open would otherwise make the process open a socket for each,
 * until other users' connections fail for want of sockets.
 */
const MAX_REPLIES_IN_FLIGHT = 4;
/**
 * Replies that wait for a slot; past this, a reply is dropped (its send rejects). A server that
 * waits for replies gets them in turn; replies to a flood are best-effort, as pings are.
 */
const MAX_QUEUED_REPLIES = 32;
// Error pages are read this far (the SDK puts them into its error message), the rest is dropped.
const MAX_ERROR_BODY_BYTES = 4096;
// Statuses whose Response may not have a body.
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const encoder = new TextEncoder();

/**
 * The `fetch` an MCP HTTP transport runs on, wrapped so that no exchange with the server can
 * outlive its purpose or grow without bound:
 * - every request gets its own abort signal, linked to the transport's (one listener per
 *   signal, however many requests share it) and to {@link McpHttpExchanges.close};
 * - {@link McpHttpExchanges.cancelRequest} tears down the response of one JSON-RPC request
 *   (the body is cancelled, so the socket is released) when its call times out or is aborted;
 * - a JSON body may hold at most `maxMessageBytes`, and so may each event of an event stream;
 *   a longer one is cut off and fails its request with "too large";
 * - an event stream that ends, breaks or is cut before the answer to its request arrived gets
 *   a made-up closing message appended, which {@link GuardedTransport} turns into an immediate
 *   error of that request (a stream that sent an event id first is left for the SDK to resume,
 *   as the Streamable HTTP spec allows);
 * - error pages are read up to 4 KiB and the header values we sent are masked in them, so a
 *   server that echoes the bearer token cannot get it into logs or error messages;
 * - a request to a URL other than the server's own that `isUrlAllowed` refuses is never sent.
 * @internal
 */
export class McpHttpExchanges {
  /** Pass this to the SDK transport. */
  readonly fetch: FetchLike;
  private readonly live = new Set<Exchange>();
  private readonly byRequest = new Map<RequestId, Exchange>();
  private readonly kinds = new Map<RequestId, ResponseKind>();
  private readonly request: ExchangeRequest;
  private closed = false;
  private repliesInFlight = 0;
  private readonly queuedReplies: QueuedReply[] = [];

  constructor(private readonly options: McpHttpExchangesOptions) {
    this.request = options.fetch ?? requestOverUndici;
    this.fetch = (input, init) => this.send(input, init);
  }

  /** Tears down the response of request `id`, if one is still open. */
  cancelRequest(id: RequestId): void {
    const exchange = this.byRequest.get(id);
    if (exchange) this.end(exchange, 'cancelled');
  }

  /** How the answer to request `id` was framed, once; forgets it. */
  takeResponseKind(id: RequestId): ResponseKind | undefined {
    const kind = this.kinds.get(id);
    this.kinds.delete(id);
    return kind;
  }

  /** Tears down every open exchange and refuses new ones. Idempotent. */
  close(): void {
    this.closed = true;
    for (const exchange of [...this.live]) this.end(exchange, 'cancelled');
    for (const queued of this.queuedReplies.splice(0)) queued.reject(closedError());
  }

  private async send(input: string | URL, init: RequestInit = {}): Promise<Response> {
    if (this.closed) throw closedError();
    const url = new URL(input instanceof URL ? input.href : input);
    if (!this.isAllowed(url)) {
      throw new LlmChatError('SERVER_NOT_ALLOWED', 'The MCP server named a URL that is not an allowed MCP server.');
    }
    this.options.redactor.learnHeaders(init.headers);
    const { requestIds, reply } = messagesOf(init);
    const freeSlot = reply ? await this.takeReplySlot() : undefined;
    const exchange: Exchange = { controller: new AbortController(), requestIds };
    const outer = init.signal ?? undefined;
    const unlink = outer ? onAbort(outer, () => this.end(exchange, 'cancelled')) : () => undefined;
    this.track(exchange);
    const release = () => {
      unlink();
      this.untrack(exchange);
      freeSlot?.();
    };
    let response: ExchangeAnswer;
    try {
      response = await this.request(url, copyWith(init, { signal: exchange.controller.signal }));
    } catch (error) {
      release();
      throw error;
    }
    if (exchange.ended) {
      release();
      await discardBody(response.body);
      throw exchange.controller.signal.reason;
    }
    if (response instanceof Response && (response.status < 200 || response.status > 599)) {
      release();
      return response;
    }
    if (!response.ok) {
      try {
        return await this.redactedErrorResponse(response);
      } finally {
        release();
      }
    }
    if (!response.body || NULL_BODY_STATUSES.has(response.status)) {
      release();
      await discardBody(response.body);
      return new Response(null, responseInit(response));
    }
    const kind: ResponseKind | 'other' = responseKind(response);
    // Only a Streamable HTTP answer carries the response to its request (legacy SSE answers 202
    // and sends the response over its event stream).
    if (kind !== 'other' && !this.options.legacySse && response.status !== 202) {
      for (const id of exchange.requestIds) this.kinds.set(id, kind);
    }
    const body =
      kind === 'sse'
        ? this.eventStreamBody(response.body, exchange, release)
        : this.jsonBody(response.body, exchange, release);
    return new Response(body, responseInit(response));
  }

  /**
   * Takes one of the connection's reply slots, waiting in line for one when all are in use.
   * Resolves with the function that frees it (once, however often it is called); rejects when the
   * line is full or the connection closes while waiting.
   */
  private async takeReplySlot(): Promise<() => void> {
    if (this.repliesInFlight < MAX_REPLIES_IN_FLIGHT) this.repliesInFlight += 1;
    else if (this.queuedReplies.length >= MAX_QUEUED_REPLIES) {
      throw new LlmChatError(
        'MCP_UNAVAILABLE',
        'The MCP server has too many requests waiting for replies; the reply to this one was dropped.',
      );
    } else {
      // The slot is handed over as it is freed, never counted down in between: a reply arriving
      // meanwhile cannot slip past the line.
      await new Promise<void>((resolve, reject) => this.queuedReplies.push({ resolve, reject }));
    }
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      const next = this.queuedReplies.shift();
      if (next) next.resolve();
      else this.repliesInFlight -= 1;
    };
  }

  private isAllowed(url: URL): boolean {
    const check = this.options.isUrlAllowed;
    if (!check || url.href === this.options.serverUrl.href) return true;
    try {
      return check(url);
    } catch {
      return false;
    }
  }

  private track(exchange: Exchange): void {
    this.live.add(exchange);
    for (const id of exchange.requestIds) this.byRequest.set(id, exchange);
  }

  private untrack(exchange: Exchange): void {
    this.live.delete(exchange);
    for (const id of exchange.requestIds) {
      if (this.byRequest.get(id) === exchange) this.byRequest.delete(id);
    }
  }

  private end(exchange: Exchange, reason: ExchangeEndReason): void {
    if (exchange.controller.signal.aborted) return;
    exchange.ended ??= reason;
    // An AbortError, as a fetch aborted by the transport itself would report.
    exchange.controller.abort(new DOMException('The MCP request was cancelled.', 'AbortError'));
  }

  private async redactedErrorResponse(response: ExchangeAnswer): Promise<Response> {
    const text = response.body ? await readPrefix(response.body, MAX_ERROR_BODY_BYTES) : '';
    const init = responseInit(response);
    if (NULL_BODY_STATUSES.has(response.status)) return new Response(null, init);
    return new Response(this.options.redactor.redact(text), init);
  }

  /** A JSON (or any other non-stream) body, errored once it passes the byte limit. */
  private jsonBody(source: ProviderBody, exchange: Exchange, release: () => void) {
    const limit = this.options.maxMessageBytes;
    const reader = source.getReader();
    let received = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          let step: ReadableStreamReadResult<Uint8Array>;
          try {
            step = await reader.read();
          } catch (error) {
            release();
            controller.error(exchange.ended ? exchange.controller.signal.reason : error);
            return;
          }
          if (step.done) {
            release();
            controller.close();
            return;
          }
          received += step.value.byteLength;
          if (received > limit) {
            exchange.ended = 'too_large';
            release();
            void reader.cancel().catch(() => undefined);
            controller.error(new McpMessageTooLargeError(limit));
            return;
          }
          controller.enqueue(step.value);
        },
        cancel: async (reason) => {
          release();
          await reader.cancel(reason).catch(() => undefined);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** An event stream, each event held to the byte limit, closed with a made-up answer if needed. */
  private eventStreamBody(source: ProviderBody, exchange: Exchange, release: () => void) {
    const limit = this.options.maxMessageBytes;
    const reader = source.getReader();
    const sizer = new SseEventSizer();
    const finish = (
      controller: ReadableStreamDefaultController<Uint8Array>,
      reason: ExchangeEndReason,
      error?: unknown,
    ) => {
      release();
      if (exchange.requestIds.length === 0) {
        // A GET stream answers no request of its own.
        if (this.options.legacySse && !this.closed) this.options.onStreamLost?.();
        if (error === undefined) controller.close();
        else controller.error(error);
        return;
      }
      // A server that sent an event id may close or lose the stream and expect us to resume
      // it with a GET; the SDK does that (a bounded number of times). Anything else is final.
      const resumable = sizer.primed && reason === 'incomplete';
      if (resumable) {
        if (error === undefined) controller.close();
        else controller.error(error);
        return;
      }
      controller.enqueue(encoder.encode(closingEvents(exchange.requestIds, reason, sizer)));
      controller.close();
    };
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          let step: ReadableStreamReadResult<Uint8Array>;
          try {
            step = await reader.read();
          } catch (error) {
            finish(controller, exchange.ended ?? 'incomplete', error);
            return;
          }
          if (step.done) {
            finish(controller, exchange.ended ?? 'incomplete');
            return;
          }
          if (!sizer.push(step.value, limit)) {
            exchange.ended = 'too_large';
            void reader.cancel().catch(() => undefined);
            if (exchange.requestIds.length === 0 && !this.options.legacySse) {
              // A Streamable HTTP GET stream: the SDK re-opens a broken or ended one at once, so
              // a server answering each with an endless event would keep us downloading. The
              // socket is released; the stream stays silent until the connection closes.
              await aborted(exchange.controller.signal);
              release();
              controller.close();
              return;
            }
            finish(controller, 'too_large', new McpMessageTooLargeError(limit));
            return;
          }
          controller.enqueue(step.value);
        },
        cancel: async (reason) => {
          release();
          await reader.cancel(reason).catch(() => undefined);
        },
      },
      { highWaterMark: 0 },
    );
  }
}

/**
 * The events that close a stream whose requests got no answer: first whatever half-received
 * event is pending is renamed so the SDK skips it (an event stream cannot otherwise drop an
 * event it has started), then one made-up result per request, marked with
 * {@link EXCHANGE_END_KEY}. A result rather than an error, so the SDK counts the request as
 * answered and does not try to resume the stream.
 */
function closingEvents(ids: RequestId[], reason: ExchangeEndReason, sizer: SseEventSizer): string {
  let text = '';
  if (sizer.eventBytes > 0) text += `${sizer.midLine ? '\n' : ''}event: mcp-llmchat-discarded\n\n`;
  for (const id of ids) {
    const message = { jsonrpc: '2.0', id, result: { _meta: { [EXCHANGE_END_KEY]: reason } } };
    text += `event: message\ndata: ${JSON.stringify(message)}\n\n`;
  }
  return text;
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** What the SDK's `Response` is built with: the answer's status line and headers. */
function responseInit(answer: ExchangeAnswer): ResponseInit {
  let headers: Headers;
  if (answer.headers instanceof Headers) headers = answer.headers;
  else {
    headers = new Headers();
    answer.headers.forEach((value, name) => {
      headers.append(name, value);
    });
  }
  return { status: answer.status, statusText: answer.statusText, headers };
}

function responseKind(response: ExchangeAnswer): ResponseKind | 'other' {
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'text/event-stream') return 'sse';
  return type === 'application/json' ? 'json' : 'other';
}

function closedError(): LlmChatError {
  return new LlmChatError('MCP_UNAVAILABLE', 'The MCP connection is closed.');
}

/** What an outgoing body holds, as far as the exchanges care. */
interface OutgoingMessages {
  /** The JSON-RPC request ids in it. */
  requestIds: RequestId[];
  /** Only replies to the server's own requests (results and errors). */
  reply: boolean;
}

const NO_MESSAGES: OutgoingMessages = { requestIds: [], reply: false };

/** The request ids in an outgoing body and whether it only replies (the SDK sends JSON strings). */
function messagesOf(init: RequestInit): OutgoingMessages {
  if (typeof init.body !== 'string') return NO_MESSAGES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(init.body);
  } catch {
    return NO_MESSAGES;
  }
  const messages = Array.isArray(parsed) ? parsed : [parsed];
  const requestIds: RequestId[] = [];
  let reply = messages.length > 0;
  for (const message of messages) {
    if (!message || typeof message !== 'object') {
      reply = false;
      continue;
    }
    const { id, method } = message as { id?: unknown; method?: unknown };
    if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) requestIds.push(id);
    if (method !== undefined || !('result' in message || 'error' in message)) reply = false;
  }
  return { requestIds, reply };
}

/** Reads at most `maxBytes` of a body as text and cancels the rest. */
async function readPrefix(body: ProviderBody, maxBytes: number): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let received = 0;
  try {
    while (received < maxBytes) {
      const step = await reader.read();
      if (step.done) return text + decoder.decode();
      const room = maxBytes - received;
      const chunk = step.value.byteLength > room ? step.value.subarray(0, room) : step.value;
      received += chunk.byteLength;
      text += decoder.decode(chunk, { stream: true });
    }
    return text;
  } catch {
    return text;
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}
