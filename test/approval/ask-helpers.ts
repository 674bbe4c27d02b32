import type { FakeReply, RecordedRequest } from '../fixtures/fake-openai-server.js';
import { type SseFrame, type SseReader, turnReply } from '../turns/turn-helpers.js';

/**
 * The fake LLM of the approval and elicitation tests: `convert N km` calls the eliciting tool
 * of `eliciting-mcp-server.ts`, `link my account` its URL-mode tool; everything else is
 * {@link turnReply} (`add A and B`, `count N`, and after a tool result `The result is <output>.`).
 */
export function askReply(request: RecordedRequest): FakeReply {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = messages.at(-1);
  const text = typeof last?.content === 'string' ? last.content : '';
  const match = /convert (\d+) km/i.exec(text);
  if (last?.role !== 'tool' && match) {
    return { kind: 'tool_calls', calls: [{ name: 'convert', arguments: { km: Number(match[1]) } }] };
  }
  if (last?.role !== 'tool' && /link my account/i.test(text)) {
    return { kind: 'tool_calls', calls: [{ name: 'link_account', arguments: {} }] };
  }
  return turnReply(request);
}

/** Reads `stream` until a frame of `event` arrives; throws if the stream ends first. */
export async function untilEvent(stream: SseReader, event: string): Promise<SseFrame> {
  for (let count = 1; ; count += 1) {
    const frames = await stream.until(count);
    const found = frames.find((frame) => frame.event === event);
    if (found) return found;
    if (frames.length < count) throw new Error(`the stream ended without ${event}: ${JSON.stringify(frames)}`);
  }
}
