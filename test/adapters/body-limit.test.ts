import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../http/stack.js';
import { HOSTS, MOUNT } from './hosts.js';

// The handler's `maxBodyBytes` holds on every host, whether the handler reads the body or a host
// parser (`express.json()`, a Koa body parser) with a higher limit of its own already did.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ maxBodyBytes: 4096 });
});
afterAll(async () => {
  await stack.close();
});

describe.each(HOSTS.map((host) => [host.name, host] as const))('maxBodyBytes on %s', (_name, host) => {
  it('answers 413 to a JSON body over the limit, and takes one within it', async () => {
    const running = await host.start(stack.handler);
    try {
      const send = (padding: number) =>
        fetch(`${running.origin}${MOUNT}/connect`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer user:limit-ann' },
          body: JSON.stringify({ llm: { model: 'fake' }, padding: 'x'.repeat(padding) }),
        });
      const large = await send(10_000);
      expect(large.status).toBe(413);
      expect(await large.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      // Chunked: no declared size, the body is measured.
      const bytes = new TextEncoder().encode(JSON.stringify({ llm: { model: 'fake' }, padding: 'x'.repeat(10_000) }));
      const chunked = await fetch(`${running.origin}${MOUNT}/connect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer user:limit-ann' },
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(bytes);
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);
      const small = await send(100);
      expect(small.status).toBe(200);
    } finally {
      await running.close();
    }
  });
});
