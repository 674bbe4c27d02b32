import type { EventSourceMessage } from 'eventsource-parser';
import type { LlmStreamEvent } from './llm-provider.js';
import type { StringSlotTemplate } from './string-slot-template.js';

const NO_EVENTS: readonly LlmStreamEvent[] = Object.freeze([]);

/**
 * A stream parser's `push` that reads a message its text template matches (see
 * {@link StringSlotTemplate}) as one `text` event in an array, and leaves every other message to
 * `parse`. Most of a streamed answer is such messages: an array of one costs less than the
 * generator object and iterator steps of `parse` for every token.
 * @internal
 */
export function withTemplatedText(
  template: StringSlotTemplate,
  parse: (message: EventSourceMessage) => Iterable<LlmStreamEvent>,
): (message: EventSourceMessage) => Iterable<LlmStreamEvent> {
  return (message) => {
    const text = template.read(message.data);
    if (text === undefined) return parse(message);
    return text === '' ? NO_EVENTS : [{ type: 'text', text }];
  };
}
