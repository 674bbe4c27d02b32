import type { FakeReply, RecordedRequest } from '../fixtures/fake-openai-server.js';
import { type SseFrame, type SseReader, turnReply } from '../turns/turn-helpers.js';

/**
 * The fake LLM of the approval and elicitation tests: `convert N km` calls the eliciting tool
 * of `eliciting-mcp-server.ts`; everything else is {@link turnReply} (`add A and B`, `count N`,
 * and after a tool result `The result is <output>.`).
 */
export function askReply(request: RecordedRequest): FakeReply {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = messages.at(-1);
  const match = /convert (\d+) km/i.exec(typeof last?.content === 'string' ? last.content : '');
  if (last?.role !== 'tool' && match) {
    return { kind: 'tool_calls', calls: [{ name: 'convert', arguments: { km: Number(match[1]) } }] };
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
