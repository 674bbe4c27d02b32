import { afterEach, expect, it } from 'vitest';
import { collectGarbage } from '../fixtures/collect-garbage.js';
import { type SseFrame, sseEventReader } from '../fixtures/sse-reader.js';
import { jsonRequest, type Stack, startStack } from './stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Starts a streamed turn of a 4-second answer; returns its events, read up to the first token. */
async function streamingTurn(stopOnDisconnect: boolean, signal?: AbortSignal) {
  stack = await startStack({ stopOnDisconnect });
  const { handler } = stack;
  expect((await handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
  const built = jsonRequest('/chat', 'ann', { message: 'talk slowly', streaming: true });
  let request: Request | undefined = signal ? new Request(built, { signal }) : built;
  const weakRequest = new WeakRef(request);
  let response: Response | undefined = await handler.fetch(request);
  const weakResponse = new WeakRef(response);
  const events = sseEventReader(response.body as ReadableStream<Uint8Array>);
  request = undefined;
  response = undefined;
  let frame: SseFrame | undefined = await events.next();
  while (frame && frame.event !== 'token') frame = await events.next();
  expect(frame?.event).toBe('token');
  return { events, weakRequest, weakResponse };
}

it('keeps neither the chat Request nor the Response while the turn streams', async () => {
  const { events, weakRequest, weakResponse } = await streamingTurn(false);
  await collectGarbage();
  expect(weakRequest.deref()).toBeUndefined();
  expect(weakResponse.deref()).toBeUndefined();
  // Checked mid-answer: more tokens come after.
  expect((await events.next())?.event).toBe('token');
  await events.cancel();
});

// On Node, a Request's signal follows the host's only while the Request lives.
it('under stopOnDisconnect, still stops the turn when the host signals a client gone after a collection', async () => {
  const host = new AbortController();
  const { events } = await streamingTurn(true, host.signal);
  await collectGarbage();
  host.abort();
  const after: SseFrame[] = [];
  for (let frame = await events.next(); frame; frame = await events.next()) after.push(frame);
  const last = after.at(-1);
  expect(last?.event).toBe('error');
  expect(last?.data).toMatchObject({ code: 'ABORTED' });
  // Stopped well before the answer's 200 tokens.
  expect(after.filter((frame) => frame.event === 'token').length).toBeLessThan(150);
});
