import type { LlmStreamEvent } from './llm-provider.js';
import type { StreamParser } from './stream-parser.js';

/**
 * Runs each batch of wire messages (one network chunk's worth) through `parser` and yields the
 * normalized events, with consecutive text (or reasoning) of one batch joined into one event:
 * every event costs a step through the chat loop and an SSE frame, and the reader sees the same
 * text. Ends after
 * the parser's closing events, or as soon as the parser says the stream is `done`.
 *
 * `onEvent` is called before the first event of each yield, so the caller knows output started
 * (and must not retry) even when the consumer stops reading.
 * @internal
 */
export async function* batchStreamEvents<M>(
  batches: AsyncIterable<M[]>,
  parser: StreamParser<M>,
  onEvent: () => void,
): AsyncGenerator<LlmStreamEvent, void, undefined> {
  for await (const batch of batches) {
    // Text, or reasoning, gathered from consecutive events of this batch.
    let pending: { type: 'text' | 'reasoning'; text: string } | undefined;
    let failure: { error: unknown } | undefined;
    try {
      for (const message of batch) {
        for (const event of parser.push(message)) {
          onEvent();
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
        if (parser.done) break;
      }
    } catch (error) {
      // The text before a failure still reaches the reader (and the interrupted turn).
      failure = { error };
    }
    if (pending) yield pending;
    if (failure !== undefined) throw failure.error;
    if (parser.done) break;
  }
  for (const event of parser.end()) {
    onEvent();
    yield event;
  }
}
