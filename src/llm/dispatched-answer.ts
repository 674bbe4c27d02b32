import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { AbortSource } from '../internal/lazy-abort.js';
import { NodeBodyReader } from './node-body-reader.js';
import type { HeaderReader, ProviderBody, ProviderBodyReader, ProviderResponse } from './provider-response.js';
import { AHEAD_BYTES, QueuedBodyReader } from './queued-body-reader.js';

type Controller = Dispatcher.DispatchController;
type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * Turns the bytes of a compressed answer back into the provider's (a zlib stream), or `undefined`
 * when the answer came as it is.
 */
export type AnswerDecoder = (headers: ResponseHeaders) => Duplex | undefined;

/** How long a body its reader left may take to end, drained unread, before the request is cut. */
export const DRAIN_GRACE_MS = 200;

/**
 * How far an answer that must not be paused (see {@link endsWithItsConnection}) may run ahead of
 * its reader before the request is cut: far more than any model's answer, so only a reader that
 * stopped reading (or a provider that never stops) meets it.
 */
export const UNPAUSABLE_AHEAD_BYTES = 8 * 1024 * 1024;

/**
 * One provider request handed to undici's dispatcher, and its answer as the library reads it.
 *
 * It is undici's dispatch handler and, once the headers are in, the response, its body and that
 * body's one reader: one object a call instead of undici's `request` layer (a request handler, a
 * body `Readable` with its state and listeners, a reader over it), since what a turn keeps alive
 * while it waits on the provider is what 500 open streams multiply. Chunks are queued as undici
 * parses them (the chunks of one socket read become one batch at the next read) and handed over
 * joined; past {@link AHEAD_BYTES} ahead of the reader the request is paused.
 *
 * The signal aborts at any point: before the socket is connected (undici would only heed it
 * then, nodejs/undici#386) `answered` rejects at once and the request is cut when it starts.
 * A reader that cancels before the end lets the rest drain unread for {@link DRAIN_GRACE_MS} (or
 * the `drainMs` given), so the socket goes back to the pool, then cuts the request. A compressed
 * answer is read through the decoder `decode` gives, by a {@link NodeBodyReader}.
 * @internal
 */
export class DispatchedAnswer
  extends QueuedBodyReader
  implements Dispatcher.DispatchHandler, ProviderResponse, ProviderBody, HeaderReader
{
  status = 0;
  ok = false;
  /** The reason phrase of the status line (empty over HTTP/2). */
  statusText = '';
  /** Resolves with this answer once its headers are in; rejects when no answer came. */
  readonly answered: Promise<DispatchedAnswer>;

  readonly #signal: AbortSource;
  readonly #decode: AnswerDecoder;
  readonly #drainMs: number;
  #controller: Controller | undefined;
  #settle: { resolve: (answer: DispatchedAnswer) => void; reject: (error: unknown) => void } | undefined;
  #headers: ResponseHeaders = {};
  #decoder: Duplex | undefined;
  #reader: ProviderBodyReader | undefined;
  #drainCut: ReturnType<typeof setTimeout> | undefined;
  #pausable = true;

  /** `drainMs`: how long a body its reader let go of may drain unread (0: the request is cut at once). */
  constructor(signal: AbortSource, decode: AnswerDecoder, drainMs = DRAIN_GRACE_MS) {
    super();
    this.#signal = signal;
    this.#decode = decode;
    this.#drainMs = drainMs;
    this.answered = new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    if (signal.aborted) this.#onAbort();
    else signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  get headers(): DispatchedAnswer {
    return this;
  }

  get body(): ProviderBody {
    return this;
  }

  /** A response header by name (undici lower-cases them); repeated ones joined as fetch joins them. */
  get(name: string): string | null {
    const value = this.#headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  /** Each response header as a web `Headers` lists it: a repeated one once per value. */
  forEach(callback: (value: string, name: string) => void): void {
    for (const [name, value] of Object.entries(this.#headers)) {
      if (Array.isArray(value)) for (const each of value) callback(each, name);
      else if (value !== undefined) callback(value, name);
    }
  }

  getReader(): ProviderBodyReader {
    if (this.#reader) throw new TypeError('The provider response body is already being read.');
    const decoder = this.#decoder;
    this.#reader = decoder ? new NodeBodyReader(decoder, () => this.#cut(new Error('decoded body let go'))) : this;
    return this.#reader;
  }

  // --- undici's side: the dispatch handler ---

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#signal.aborted) controller.abort(this.#signal.reason as Error);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: ResponseHeaders, statusText?: string): void {
    // Informational answers (103 Early Hints) come before the real one.
    if (statusCode < 200) return;
    // undici leaves the raw header lines on the controller for the whole answer: views into the
    // socket read that carried them, which they keep alive. The parsed `headers` are what we read.
    controller.rawHeaders = null;
    this.status = statusCode;
    this.statusText = statusText ?? '';
    this.ok = statusCode < 300;
    this.#headers = headers;
    this.#pausable = !endsWithItsConnection(headers);
    const decoder = this.#decode(headers);
    if (decoder) {
      this.#decoder = decoder;
      // A decoder that fails (a corrupt body) ends the request too: it would sit paused forever
      // on a decoder that takes no more. Heard from the start: an unheard error would crash.
      decoder.on('error', (error) => this.#cut(error));
      decoder.on('drain', () => controller.resume());
    }
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.resolve(this);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.cancelled) return;
    const decoder = this.#decoder;
    if (decoder) {
      if (!decoder.write(chunk)) this.#holdBack(controller, decoder.writableLength);
      return;
    }
    this.enqueue(chunk);
    this.answer();
    if (this.queuedBytes >= AHEAD_BYTES) this.#holdBack(controller, this.queuedBytes);
  }

  onResponseEnd(): void {
    this.#finished();
    this.#decoder?.end();
    this.finish();
  }

  onResponseError(_controller: Controller | undefined, error: Error): void {
    this.#finished();
    this.#fail(error);
  }

  // --- the library's side: the body's reader (reads and cancels are the base's) ---

  // The reader left before the end: the rest drains unread for a moment (a paused request goes
  // on), then the request is cut, unless it ended by then.
  protected override letGo(): void {
    if (this.#drainMs <= 0) {
      this.#cut(new Error('body let go'));
      return;
    }
    this.#drainCut = setTimeout(() => this.#cut(new Error('provider body let go')), this.#drainMs);
    this.#drainCut.unref?.();
    this.#controller?.resume();
  }

  protected override drained(): void {
    if (this.#controller?.paused) this.#controller.resume();
  }

  /**
   * The reader is `aheadBytes` behind: the request waits for it, or, for an answer that must not
   * be paused, is cut once that is more than {@link UNPAUSABLE_AHEAD_BYTES}.
   */
  #holdBack(controller: Controller, aheadBytes: number): void {
    if (this.#pausable) controller.pause();
    else if (aheadBytes > UNPAUSABLE_AHEAD_BYTES) {
      this.#cut(new Error('The provider answer ran too far ahead of its reader on a connection that cannot wait.'));
    }
  }

  /** Before the headers, the answer rejects; after them, the body fails (and its decoder). */
  #fail(error: unknown): void {
    const settle = this.#settle;
    this.#settle = undefined;
    if (settle) {
      settle.reject(error);
      return;
    }
    if (!this.settled) this.#decoder?.destroy(error instanceof Error ? error : new Error(String(error)));
    this.fail(error);
  }

  /** Aborts the request (a no-op once it completed) and frees the decoder. */
  #cut(reason: Error): void {
    this.#controller?.abort(reason);
    this.#decoder?.destroy();
  }

  /** The request is over: no more aborts to follow, no drain to cut. */
  #finished(): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
    if (this.#drainCut !== undefined) clearTimeout(this.#drainCut);
  }

  readonly #onAbort = (): void => {
    // A signal's reason is whatever its owner aborted with; undici passes it on as it is.
    const reason = this.#signal.reason as Error;
    // Before the socket is connected there is no controller yet: onRequestStart cuts it then.
    this.#controller?.abort(reason);
    this.#fail(reason);
  };
}

/**
 * Whether the answer ends with its connection: `Connection: close`, or no length and no chunked
 * framing (read to the connection's end). undici 7 must never be paused on such an answer: when
 * the connection closes while its parser is paused, an assertion in its socket `end` handler
 * throws where nothing can catch it and the process dies (nodejs/undici#5360, fixed in undici 8,
 * which needs Node 22.19). Such an answer is read on unpaused, up to {@link UNPAUSABLE_AHEAD_BYTES}
 * ahead of its reader. (An HTTP/1.0 answer with a length but no `Connection: keep-alive` ends
 * with its connection too, and its version is not shown to a dispatch handler; providers answer
 * HTTP/1.1 or 2.)
 */
function endsWithItsConnection(headers: ResponseHeaders): boolean {
  if (/(?:^|,)\s*close\s*(?:,|$)/i.test(headerText(headers.connection))) return true;
  const codings = headers['transfer-encoding'];
  // As the parser reads it (RFC 9112 §6.3): a Transfer-Encoding overrides any length, and only
  // `chunked` as its last coding frames the body; else it runs to the connection's end.
  if (codings !== undefined) return !/(?:^|,)\s*chunked\s*$/i.test(headerText(codings));
  return headers['content-length'] === undefined;
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}
