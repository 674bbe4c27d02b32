import type { LlmStreamEvent } from './llm-provider.js';
import type { StreamParser } from './stream-parser.js';

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

  constructor(parser: StreamParser<M>) {
    this.#parser = parser;
  }

  /** Whether the parser saw the stream's end: the rest of the body is not read. */
  get done(): boolean {
    return this.#parser.done;
  }

  /**
   * The events of one batch. When the parser fails part way, the text before the failure is
   * given first (it reaches the reader and the interrupted turn), then the failure is thrown.
   */
  *of(batch: readonly M[]): Generator<LlmStreamEvent, void, undefined> {
    // Text, or reasoning, gathered from consecutive events of this batch.
    let pending: { type: 'text' | 'reasoning'; text: string } | undefined;
    let failure: { error: unknown } | undefined;
    try {
      for (const message of batch) {
        for (const event of this.#parser.push(message)) {
          if (event.type === 'text' || event.type === 'reasoning') {
            if (pending?.type === event.type) pending.text += event.text;
            else {
              if (pending) yield pending;
              pending = { type: event.type, text: event.text };
            }
            continue;
          }
          if (pending) {
            yield pending;
            pending = undefined;
          }
          yield event;
        }
        if (this.#parser.done) break;
      }
    } catch (error) {
      failure = { error };
    }
    if (pending) yield pending;
    if (failure !== undefined) throw failure.error;
  }

  /** The parser's closing events, once the body ended or the parser said it is done. */
  end(): Iterable<LlmStreamEvent> {
    return this.#parser.end();
  }
}
