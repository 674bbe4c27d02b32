import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import type { FakeLlmServer, FakeReply, RecordedRequest } from '../fixtures/fake-llm-common.js';
import { PROVIDERS, type ProviderUnderTest } from '../fixtures/providers.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { bearerUser, type Frame, jsonRequest, readFrames } from '../http/stack.js';

// Every provider and model behaviour of the provider table streams a tool-using turn end to
// end: /connect, a streamed /chat that calls the MCP `add` tool, then a second, non-streamed
// turn that reloads the stored history (thinking blocks included) and sends it back, with
// reasoning events on for hosts that opt in.
describe.each(PROVIDERS.map((entry) => ({ ...entry, title: entry.name ?? entry.id })))(
  '$title through the handler',
  (entry: ProviderUnderTest) => {
    let llm: FakeLlmServer;
    let mcp: TestMcpHttpServer;
    let handler: ReturnType<typeof createChatHandler>;

    const respond = (request: RecordedRequest): FakeReply => {
      const turn = entry.lastTurn(request);
      const reply: FakeReply =
        turn.kind === 'tool_results'
          ? { kind: 'text', chunks: ['The result', ` is ${turn.results.join(', ')}.`], usage: { input: 40, output: 6 } }
          : /add/.test(turn.text)
            ? {
                kind: 'tool_calls',
                calls: [{ name: 'add', arguments: { a: 2, b: 3 } }],
                usage: { input: 30, output: 9 },
              }
            : { kind: 'text', chunks: ['Hello', ' again.'] };
      return reply;
    };

    beforeAll(async () => {
      llm = await entry.start(respond);
      mcp = await startTestMcpHttpServer();
      handler = createChatHandler({
        authenticate: bearerUser,
        models: [entry.model(llm, { id: 'm' }), entry.model(llm, { id: 'bad', credentials: 'wrong' })],
        mcp: { defaultServer: { url: mcp.url }, allowedUrls: [mcp.url] },
        keepAliveMs: 0,
        reasoningEvents: true,
      });
    });
    afterAll(async () => {
      await handler.close();
      await Promise.all([llm.close(), mcp.close()]);
    });

    it('streams a tool-using turn, then a second turn on the stored history', async () => {
      const connect = await handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'm' } }));
      expect(await connect.json()).toMatchObject({
        status: 'connected',
        provider: entry.id,
        tools: expect.arrayContaining(['add']),
      });

      const response = await handler.fetch(
        jsonRequest('/chat', 'ann', { message: 'please add 2 and 3', streaming: true }),
      );
      const raw = await response.clone().text();
      const frames: Frame[] = await readFrames(response);
      const names = frames.map((frame) => frame.event);
      expect(names.filter((name) => name !== 'token' && name !== 'reasoning')).toEqual([
        'tool_start',
        'tool_end',
        'final',
      ]);
      expect(frames.find((f) => f.event === 'tool_end')?.data).toMatchObject({ tool: 'add', output: '5' });
      const final = frames.at(-1)?.data as { content: string; tool_used: boolean; usage?: { input_tokens: number } };
      expect(final.content).toBe('The result is 5.');
      expect(final.tool_used).toBe(true);
      expect(final.usage?.input_tokens).toBe(70);
      if (entry.reasons) expect(names).toContain('reasoning');
      else expect(names).not.toContain('reasoning');
      for (const secret of entry.secrets) expect(raw).not.toContain(secret);

      const second = await handler.fetch(jsonRequest('/chat', 'ann', { message: 'hello', streaming: false }));
      expect(second.status).toBe(200);
      expect(await second.json()).toMatchObject({ response: 'Hello again.', tool_used: false });
      // The last request carried the first turn back: its tool call and result.
      expect(JSON.stringify(llm.requests.at(-1)?.body)).toContain('The result is 5.');
    });

    it('refused credentials → an error event with PROVIDER_AUTH, and no secret in the stream', async () => {
      await handler.fetch(jsonRequest('/connect', 'bob', { llm: { model: 'bad' } }));
      const response = await handler.fetch(jsonRequest('/chat', 'bob', { message: 'hi', streaming: true }));
      const raw = await response.text();
      expect(raw).toContain('PROVIDER_AUTH');
      for (const secret of entry.secrets) expect(raw).not.toContain(secret);
    });
  },
);
