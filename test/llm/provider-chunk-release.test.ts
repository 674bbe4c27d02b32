import { expect, it } from 'vitest';
import type { BodyDecoder } from '../../src/llm/body-batches.js';
import { streamProviderCall } from '../../src/llm/provider-http.js';
import type { StreamParser } from '../../src/llm/stream-parser.js';
import { collectGarbage } from '../fixtures/collect-garbage.js';

interface Message {
  text: string;
}

// A model can pause for seconds between two chunks, and hundreds of turns stream at once: what
// the call holds while it waits stays alive for all that time. A wire message's data is a slice
// of its chunk's text (which a slice keeps whole), so the call must not hold the last chunk's
// messages while it waits for the next one.
it.each(['yielded', 'handed to onText'] as const)(
  'holds no message of the last chunk while it waits for the next one (text %s)',
  async (way) => {
    const seen: WeakRef<Message>[] = [];
    const handed: string[] = [];
    const decoder: BodyDecoder<Message> = {
      decode(chunk) {
        const message = { text: new TextDecoder().decode(chunk) };
        seen.push(new WeakRef(message));
        return [message];
      },
      end: () => [],
    };
    const parser: StreamParser<Message> = {
      push: (message) => [{ type: 'text', text: message.text }],
      done: false,
      end: () => [{ type: 'finish', reason: 'stop' }],
    };
    let sendSecond: () => void = () => {};
    const secondAsked = new Promise<void>((resolve) => {
      sendSecond = resolve;
    });
    let askedForSecond: () => void = () => {};
    const waiting = new Promise<void>((resolve) => {
      askedForSecond = resolve;
    });
    let pulls = 0;
    const encoder = new TextEncoder();
    const fetchStub = (async () =>
      new Response(
        new ReadableStream<Uint8Array>(
          {
            async pull(controller) {
              pulls++;
              if (pulls === 1) controller.enqueue(encoder.encode('first'));
              else if (pulls === 2) {
                askedForSecond();
                await secondAsked;
                controller.enqueue(encoder.encode('second'));
              } else controller.close();
            },
          },
          { highWaterMark: 0 },
        ),
        { status: 200, headers: { 'content-type': 'text/event-stream' } },
      )) as typeof fetch;

    const events = streamProviderCall<Message>(
      {
        kind: 'fake',
        label: 'Fake',
        url: 'http://127.0.0.1:9/v1/chat',
        headers: {},
        body: '{}',
        secrets: [],
        createParser: () => parser,
        createDecoder: async () => decoder,
      },
      { fetch: fetchStub },
      undefined,
      way === 'yielded' ? undefined : (text) => void handed.push(text),
    );
    if (way === 'yielded') {
      expect(await events.next()).toEqual({ done: false, value: { type: 'text', text: 'first' } });
    }
    // The call now waits for the second chunk, which the body sends only when told to.
    const next = events.next();
    await waiting;
    await collectGarbage();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.deref()).toBeUndefined();

    sendSecond();
    const rest: unknown[] = [];
    if (way === 'yielded') {
      expect(await next).toEqual({ done: false, value: { type: 'text', text: 'second' } });
      for await (const event of { [Symbol.asyncIterator]: () => events }) rest.push(event);
      expect(rest).toEqual([{ type: 'finish', reason: 'stop' }]);
    } else {
      expect(await next).toEqual({ done: false, value: { type: 'finish', reason: 'stop' } });
      expect(handed).toEqual(['first', 'second']);
    }
  },
);
