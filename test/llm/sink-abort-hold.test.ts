import { afterEach, expect, it } from 'vitest';
import { collectFailure } from './helpers.js';
import { dataEvent, hi, openai, type RawSseServer, serveRawSse } from './raw-sse-server.js';

// A host's text sink that aborts the call itself (its client went away) and returns a hold that
// fails later: the call ends ABORTED at once, and the hold's rejection must not go unhandled
// (under Node's defaults that ends the process).

let server: RawSseServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const text = (content: string) => dataEvent({ choices: [{ index: 0, delta: { content } }] });
const finish = dataEvent({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });

it.each([
  ['over undici', {}],
  ["over a host's fetch", { fetch: (input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init) }],
])(
  'a sink that aborts the call and then rejects its hold: ABORTED, no unhandled rejection (%s)',
  async (_, options) => {
    server = await serveRawSse((response) => {
      response.write(text('A'));
      setTimeout(() => response.end(finish), 300);
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const controller = new AbortController();
      const sinkFailure = new Error('client write failed');
      const onText = () => {
        controller.abort();
        return new Promise<void>((_resolve, reject) => setTimeout(() => reject(sinkFailure), 30));
      };
      const { error } = await collectFailure(
        openai(server.url, { maxRetries: 0, ...options }).stream(hi, { onText, signal: controller.signal }),
      );
      expect(error.code).toBe('ABORTED');
      // Past the hold's rejection, and a turn of the event loop for Node to report it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  },
);
