import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';

// A provider (or something in front of it) answers an error status with a body that never ends.
// The error body is read up to its 16 KB cap and then cancelled: no unbounded buffering, and no
// waiting for an end that never comes.
let server: Server;
let baseUrl: string;
let written = 0;
let clientLeft: Promise<void>;

beforeAll(async () => {
  let left = () => {};
  clientLeft = new Promise((resolve) => {
    left = resolve;
  });
  server = createServer((_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.write('{"error":{"message":"');
    const chunk = 'x'.repeat(16 * 1024);
    const pump = () => {
      while (!res.destroyed && res.write(chunk)) written += chunk.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
    res.on('close', left);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('fails the call with the provider error and cancels the endless body', async () => {
  const provider = new OpenAIProvider(
    { kind: 'openai_compatible', baseUrl },
    { maxRetries: 0, totalTimeoutMs: 600_000, firstChunkTimeoutMs: 600_000 },
  );
  let failure: unknown;
  try {
    for await (const _event of provider.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })) {
      // A 400 yields nothing.
    }
  } catch (error) {
    failure = error;
  }
  expect(isLlmChatError(failure) && failure.code).toBe('PROVIDER_ERROR');
  // The client hung up on the body; what was sent is bounded by the socket buffers, not the body.
  await clientLeft;
  expect(written).toBeLessThan(8 * 1024 * 1024);
});
