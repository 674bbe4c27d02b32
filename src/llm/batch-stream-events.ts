import { isLlmChatError, LlmChatError } from '../errors.js';
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
  readonly #label: string;
  #failure: { error: unknown } | undefined;

  /** `label` names the provider in the error for a parser that broke on what it was sent. */
  constructor(parser: StreamParser<M>, label = 'provider') {
    this.#parser = parser;
    this.#label = label;
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
      this.#failure = { error: this.#asStreamError(error) };
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

  /**
   * The parser's closing events, once the body ended or the parser said it is done. Throws the
   * parser's failure, as {@link throwIfFailed} would.
   */
  end(): LlmStreamEvent[] {
    try {
      return [...this.#parser.end()];
    } catch (error) {
      throw this.#asStreamError(error);
    }
  }

  /**
   * A parser's own failures are `LlmChatError`s. Anything else (a `TypeError` on a shape it did not
   * expect, a `RangeError` from JSON nested too deep) is still the stream's fault, not the
   * connection's: the same answer would break it again, so it is not retried.
   */
  #asStreamError(error: unknown): unknown {
    if (isLlmChatError(error)) return error;
    return new LlmChatError('PROVIDER_ERROR', `The ${this.#label} API sent a malformed stream.`, { cause: error });
  }
}
