import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sseEventReader } from '../fixtures/sse-reader.js';
import { jsonRequest, type Stack, startStack } from './stack.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

it('keeps neither the chat Request nor the Response while the turn streams', async () => {
  const { handler } = stack;
  expect((await handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
  let request: Request | undefined = jsonRequest('/chat', 'ann', {
    message: 'talk slowly but briefly',
    streaming: true,
  });
  const weakRequest = new WeakRef(request);
  let response: Response | undefined = await handler.fetch(request);
  const weakResponse = new WeakRef(response);
  const events = sseEventReader(response.body as ReadableStream<Uint8Array>);
  request = undefined;
  response = undefined;
  // Mid-answer: the first token is out, the rest is still coming.
  let frame = await events.next();
  while (frame && frame.event !== 'token') frame = await events.next();
  expect(frame?.event).toBe('token');
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
  expect(weakRequest.deref()).toBeUndefined();
  expect(weakResponse.deref()).toBeUndefined();
  let last: string | undefined;
  for (frame = await events.next(); frame; frame = await events.next()) last = frame.event;
  expect(last).toBe('final');
});
