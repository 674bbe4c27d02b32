import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { HOSTS, MOUNT, type RunningHost } from '../adapters/hosts.js';
import { elicitingMcpServer } from '../fixtures/eliciting-mcp-server.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { bearerUser } from '../http/stack.js';
import { SseReader } from '../turns/turn-helpers.js';
import { askReply, untilEvent } from './ask-helpers.js';

// CONTRACT §7 through every host adapter, over real sockets: the approval and the elicitation
// answers are request bodies each host parses its own way.
describe('approval and elicitation through every host', () => {
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  const answers: ElicitResult[] = [];
  const handler = () =>
    createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-hosts' }],
      mcp: { defaultServer: { url: mcp.url }, allowedUrls: [mcp.url] },
      keepAliveMs: 0,
      toolApproval: 'always',
      elicitation: true,
    });

  beforeAll(async () => {
    llm = await startFakeOpenAI({ reply: askReply });
    mcp = await startTestMcpHttpServer({ createServer: elicitingMcpServer(answers) });
  });
  afterAll(async () => {
    await Promise.all([llm?.close(), mcp?.close()]);
  });

  for (const host of HOSTS) {
    it(host.name, async () => {
      const chatHandler = handler();
      let running: RunningHost | undefined;
      try {
        running = await host.start(chatHandler);
        const base = `${running.origin}${MOUNT}`;
        const post = (path: string, body: unknown) =>
          fetch(`${base}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: 'Bearer user:hosts' },
            body: JSON.stringify(body),
          });
        expect((await post('/connect', { llm: { model: 'fake' } })).status).toBe(200);
        const stream = new SseReader(await post('/chat', { message: 'convert 3 km', streaming: true }));
        const asked = await untilEvent(stream, 'tool_approval');
        const approved = await post('/approve', { call_id: asked.data.id, decision: 'approve' });
        expect([approved.status, await approved.json()]).toEqual([200, { status: 'approved', call_id: asked.data.id }]);
        const form = await untilEvent(stream, 'elicitation');
        const refused = await post('/elicitation', {
          id: form.data.id,
          action: 'accept',
          content: { decimals: 'two' },
        });
        expect([refused.status, (await refused.json()).detail]).toEqual([422, 'content.decimals: expected a number']);
        expect(
          (await post('/elicitation', { id: form.data.id, action: 'accept', content: { system: 'metric' } })).status,
        ).toBe(200);
        const all = await stream.all();
        expect(all.at(-1)).toMatchObject({ event: 'final', data: { content: 'The result is 3.0 km.' } });
        expect((await post('/approve', { call_id: asked.data.id, decision: 'approve' })).status).toBe(404);
        expect(running.errors).toEqual([]);
      } finally {
        await running?.close();
        await chatHandler.close();
      }
    });
  }
});
