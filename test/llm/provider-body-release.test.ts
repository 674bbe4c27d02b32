import { expect, it } from 'vitest';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';

// A server that says `[DONE]` but keeps its connection open: the provider call stops reading
// there and lets the body go before it hands out the closing events (a tool call then runs with
// the connection already free), rather than once its caller has handled them.
it('cancels a body that stays open after [DONE] before handing out the closing events', async () => {
  let cancelled = false;
  const encoder = new TextEncoder();
  const fetchStub = (async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          // No finish_reason (some compatible servers skip it): the call comes out at the end.
          const call = {
            choices: [
              {
                index: 0,
                delta: { tool_calls: [{ index: 0, id: 'c1', function: { name: 'add', arguments: '{"a":1}' } }] },
              },
            ],
          };
          controller.enqueue(encoder.encode(`data: ${JSON.stringify(call)}\n\ndata: [DONE]\n\n`));
          // Never closed: a proxy that holds the connection.
        },
        cancel() {
          cancelled = true;
        },
      }),
      { status: 200, headers: { 'content-type': 'text/event-stream' } },
    )) as typeof fetch;
  const provider = new OpenAIProvider({ kind: 'openai', apiKey: 'sk-test' }, { fetch: fetchStub });
  const seen: Array<{ type: string; cancelledBefore: boolean }> = [];
  for await (const event of provider.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })) {
    seen.push({ type: event.type, cancelledBefore: cancelled });
  }
  expect(seen.map((event) => event.type)).toEqual(['tool_call', 'finish']);
  expect(seen.every((event) => event.cancelledBefore)).toBe(true);
});
