import type { LlmStreamEvent } from './llm-provider.js';
import type { StreamParser } from './stream-parser.js';

type TextLike = Extract<LlmStreamEvent, { type: 'text' | 'reasoning' }>;

/**
 * Runs each batch of wire messages (one network chunk's worth) through a parser and gives the
 * normalized events, with consecutive text (or reasoning) of one batch joined into one event:
 * every event costs a step through the chat loop and an SSE frame, and the reader sees the same
 * text.
 *
 * Synchronous per batch on purpose: the caller's own loop over the body is the only async step
 * a network chunk costs (an async generator here cost three promises a chunk).
 * @internal
 */
export class BatchedStreamEvents<M> {
  readonly #parser: StreamParser<M>;
  #failure: { error: unknown } | undefined;

  constructor(parser: StreamParser<M>) {
    this.#parser = parser;
  }

  /** Whether the parser saw the stream's end: the rest of the body is not read. */
  get done(): boolean {
    return this.#parser.done;
  }

  /**
   * The events of one batch. When the parser fails part way, they are the text before the failure
   * (it reaches the reader and the interrupted turn), and {@link throwIfFailed} throws the failure:
   * give the events first, then call it. An array, not a generator: one object less for each
   * network chunk, and the parser's own text event goes on unless a second one joins it.
   */
  of(batch: readonly M[]): LlmStreamEvent[] {
    const out: LlmStreamEvent[] = [];
    // Text, or reasoning, gathered from consecutive events of this batch: the parser's event
    // itself while it is alone, our own copy once another is joined to it.
    let pending: TextLike | undefined;
    let pendingIsOurs = false;
    try {
      for (const message of batch) {
        for (const event of this.#parser.push(message)) {
          if (event.type === 'text' || event.type === 'reasoning') {
            if (pending?.type !== event.type) {
              if (pending) out.push(pending);
              pending = event;
              pendingIsOurs = false;
            } else if (pendingIsOurs) pending.text += event.text;
            else {
              pending = { type: event.type, text: pending.text + event.text };
              pendingIsOurs = true;
            }
            continue;
          }
          if (pending) {
            out.push(pending);
            pending = undefined;
          }
          out.push(event);
        }
        if (this.#parser.done) break;
      }
    } catch (error) {
      this.#failure = { error };
    }
    if (pending) out.push(pending);
    return out;
  }

  /** Whether the last batch ended part way: {@link throwIfFailed} throws why. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** Throws what ended the last batch part way, if anything did (see {@link of}). */
  throwIfFailed(): void {
    const failure = this.#failure;
    if (failure === undefined) return;
    this.#failure = undefined;
    throw failure.error;
  }

  /** The parser's closing events, once the body ended or the parser said it is done. */
  end(): Iterable<LlmStreamEvent> {
    return this.#parser.end();
  }
}
