import { encodeSseEvent } from '../sse/encode-sse-event.js';
import type { ChatEvent } from '../types.js';

/** What a tool event shows instead of an input or output that cannot be encoded. */
export const UNENCODABLE_VALUE = '[not shown: too deeply nested or not encodable as JSON]';

/**
 * An encoder for one stream's chat events: each frame gets the next `id`, the event name is the
 * event's `type`, and `token` (and the opt-in `reasoning`) data is `{ content }` without `type`,
 * exactly as the gateway sends `token`.
 *
 * It never throws: a turn must end with its one `final` or `error` event whatever a model or a
 * tool sent. A tool input or output that cannot be encoded (nested thousands deep, which
 * overflows `JSON.stringify`) is replaced by {@link UNENCODABLE_VALUE}; a tool event that still
 * cannot be encoded is left out.
 * @internal
 */
export function encodeChatEvent(): (event: ChatEvent) => string {
  let id = 0;
  return (event) => {
    id += 1;
    // `reasoning` is shaped like `token`, so a client reuses its token handling for it.
    const data = event.type === 'token' || event.type === 'reasoning' ? { content: event.content } : event;
    try {
      return encodeSseEvent({ id, event: event.type, data });
    } catch {
      const fallback = withoutToolValues(event);
      try {
        return encodeSseEvent({ id, event: event.type, data: fallback });
      } catch {
        // Nothing more to take out: leave the event out (sseChunks skips empty frames).
        return '';
      }
    }
  };
}

function withoutToolValues(event: ChatEvent): ChatEvent {
  switch (event.type) {
    case 'tool_start':
      return { ...event, input: UNENCODABLE_VALUE as never };
    case 'tool_end':
      return { ...event, output: UNENCODABLE_VALUE };
    default:
      return event;
  }
}
