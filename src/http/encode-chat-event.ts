import { encodeSseEvent } from '../sse/encode-sse-event.js';
import type { ChatEvent } from '../types.js';

/**
 * An encoder for one stream's chat events: each frame gets the next `id`, the event name is the
 * event's `type`, and `token` (and the opt-in `reasoning`) data is `{ content }` without `type`,
 * exactly as the gateway sends `token`.
 * @internal
 */
export function encodeChatEvent(): (event: ChatEvent) => string {
  let id = 0;
  return (event) => {
    id += 1;
    // `reasoning` is shaped like `token`, so a client reuses its token handling for it.
    const data = event.type === 'token' || event.type === 'reasoning' ? { content: event.content } : event;
    return encodeSseEvent({ id, event: event.type, data });
  };
}
