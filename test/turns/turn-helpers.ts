/**
 * Helpers of the turn tests: the fake LLM's script for them, and an SSE reader that can stop
 * after some frames (a reload) and parse ids.
 */
import { createParser } from 'eventsource-parser';
import type { FakeReply, RecordedRequest } from '../fixtures/fake-llm-common.js';
import { smartReply } from '../http/stack.js';

/** The words of the long answer of "count": `c1 c2 … cN `. */
export const countWords = (n: number): string[] => Array.from({ length: n }, (_, i) => `c${i + 1} `);

/**
 * The fake LLM's script, by the last message:
 * - "count N": N chunks `c1 `…`cN `, one every 25 ms;
 * - "slow tool": calls `slow` (5 s), then answers "after slow";
 * - "stall": never sends a byte;
 * - "fail hard": a 400 from the provider (not retried);
 * - otherwise the HTTP suite's script.
 */
export function turnReply(request: RecordedRequest): FakeReply {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = messages.at(-1);
  if (last?.role === 'tool' && messages.some((m) => m.role === 'user' && String(m.content).includes('slow tool'))) {
    return { kind: 'text', chunks: ['after slow'] };
  }
  const text = typeof last?.content === 'string' ? last.content : '';
  const count = /count (\d+)/.exec(text);
  if (count) return { kind: 'text', chunks: countWords(Number(count[1])), delayMs: 25 };
  if (/slow tool/.test(text)) return { kind: 'tool_calls', calls: [{ name: 'slow', arguments: { ms: 5000 } }] };
  if (/stall/.test(text)) return { kind: 'stall', phase: 'before_headers' };
  if (/fail hard/.test(text)) return { kind: 'http_error', status: 400 };
  return smartReply(request);
}

/** A parsed SSE frame. */
export interface SseFrame {
  id?: string;
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests dig into event data freely.
  data: any;
}

/** Reads SSE frames from a response body one at a time. */
export class SseReader {
  readonly frames: SseFrame[] = [];
  /** The comment lines read so far (`: ping` is `'ping'`). */
  readonly comments: string[] = [];
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  readonly #parser = createParser({
    onEvent: (event) => {
      this.frames.push({
        event: event.event ?? 'message',
        data: JSON.parse(event.data),
        ...(event.id ? { id: event.id } : {}),
      });
    },
    onComment: (comment) => {
      this.comments.push(comment);
    },
  });
  #done = false;

  constructor(response: Response) {
    this.#reader = (response.body as ReadableStream<Uint8Array>).getReader();
  }

  /** Reads until at least `count` frames arrived (or the stream ended). */
  async until(count: number): Promise<SseFrame[]> {
    while (this.frames.length < count && !this.#done) {
      const { done, value } = await this.#reader.read();
      if (done) this.#done = true;
      else this.#parser.feed(this.#decoder.decode(value, { stream: true }));
    }
    return this.frames;
  }

  /** Reads to the end of the stream. */
  async all(): Promise<SseFrame[]> {
    return this.until(Number.POSITIVE_INFINITY);
  }

  /** Goes away (a reload). */
  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}

/** The answer text of some frames. */
export function textOf(frames: readonly SseFrame[]): string {
  return frames
    .filter((frame) => frame.event === 'token')
    .map((frame) => String(frame.data.content))
    .join('');
}
