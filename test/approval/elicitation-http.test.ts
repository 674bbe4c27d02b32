import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatHandlerOptions } from '../../src/http/chat-handler-options.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { memoryStorage } from '../../src/storage.js';
import { elicitingMcpServer, LINK_URL } from '../fixtures/eliciting-mcp-server.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { bearerUser, jsonRequest } from '../http/stack.js';
import { SseReader } from '../turns/turn-helpers.js';
import { askReply, untilEvent } from './ask-helpers.js';

// MCP elicitation (CONTRACT §7) over HTTP: a real SDK server over Streamable HTTP asks mid-call,
// the answer is posted to a second handler on the same storage (another process).
describe('POST /elicitation', () => {
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  const answers: ElicitResult[] = [];
  const handlers: ReturnType<typeof createChatHandler>[] = [];
  const storage = memoryStorage();

  function makeHandler(overrides: Partial<ChatHandlerOptions> = {}) {
    const handler = createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-elicit' }],
      mcp: { defaultServer: { url: mcp.url }, allowedUrls: [mcp.url] },
      storage,
      keepAliveMs: 0,
      elicitation: true,
      ...overrides,
    });
    handlers.push(handler);
    return handler;
  }

  beforeAll(async () => {
    llm = await startFakeOpenAI({ reply: askReply });
    mcp = await startTestMcpHttpServer({ createServer: elicitingMcpServer(answers) });
  });
  afterAll(async () => {
    await Promise.all(handlers.map((h) => h.close()));
    await Promise.all([llm?.close(), mcp?.close()]);
    await storage.close();
  });

  const post = (handler: ReturnType<typeof createChatHandler>, user: string, body: Record<string, unknown>) =>
    handler.fetch(jsonRequest('/elicitation', user, body));

  async function ask(handler: ReturnType<typeof createChatHandler>, user: string, km: number) {
    expect((await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
    const stream = new SseReader(
      await handler.fetch(jsonRequest('/chat', user, { message: `convert ${km} km`, streaming: true })),
    );
    const asked = await untilEvent(stream, 'elicitation');
    return { stream, asked, id: String(asked.data.id) };
  }

  it('sends the form, refuses content that does not fit (422, still answerable), then accepts', async () => {
    const a = makeHandler();
    const b = makeHandler();
    const before = answers.length;
    const { stream, asked, id } = await ask(a, 'ann', 10);
    expect(asked.data).toMatchObject({
      type: 'elicitation',
      mode: 'form',
      message: 'Which unit system should I use?',
      requested_schema: { properties: { system: { enum: ['metric', 'imperial'] }, decimals: { minimum: 0 } } },
    });
    expect(typeof asked.data.expires_at).toBe('string');

    const bad = await post(b, 'ann', { id, action: 'accept', content: { system: 'metric', decimals: -1 } });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      detail: expect.stringMatching(/^content\.decimals:/),
    });
    const unknownField = await post(b, 'ann', { id, action: 'accept', content: { colour: 'red' } });
    expect(unknownField.status).toBe(422);
    expect((await unknownField.json()).detail).toMatch(/^content\.colour:/);
    expect(answers.length).toBe(before);

    const good = await post(b, 'ann', { id, action: 'accept', content: { system: 'metric', decimals: 2 } });
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ status: 'accept', id });
    const all = await stream.all();
    expect(all.find((frame) => frame.event === 'tool_end')?.data.output).toBe('10.00 km');
    expect(all.at(-1)).toMatchObject({ event: 'final', data: { content: 'The result is 10.00 km.' } });
    expect(answers.at(-1)).toEqual({ action: 'accept', content: { system: 'metric', decimals: 2 } });

    // Used once: answering again is 404.
    const again = await post(b, 'ann', { id, action: 'accept', content: { system: 'metric' } });
    expect(again.status).toBe(404);
    expect((await again.json()).code).toBe('ELICITATION_NOT_FOUND');
  });

  it('fills in the form defaults when the user accepts with no content', async () => {
    const a = makeHandler();
    const { stream, id } = await ask(a, 'bob', 10);
    expect((await post(a, 'bob', { id, action: 'accept' })).status).toBe(200);
    const all = await stream.all();
    expect(answers.at(-1)).toEqual({ action: 'accept', content: { system: 'imperial', decimals: 1 } });
    expect(all.find((frame) => frame.event === 'tool_end')?.data.output).toBe('6.2 mi');
  });

  it('passes decline on, and is 404 for unknown ids and for another user', async () => {
    const a = makeHandler();
    const b = makeHandler();
    const { stream, id } = await ask(a, 'cat', 3);
    const unknown = await post(b, 'cat', { id: 'no-such-question', action: 'accept' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      detail: 'No pending elicitation with this id.',
      code: 'ELICITATION_NOT_FOUND',
    });
    // Another user cannot answer it, nor learn anything about it.
    const other = await post(b, 'eve', { id, action: 'accept', content: { system: 'metric' } });
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({
      detail: 'No pending elicitation with this id.',
      code: 'ELICITATION_NOT_FOUND',
    });
    expect((await post(b, 'eve', { user_id: 'cat', id, action: 'accept' })).status).toBe(403);

    expect((await post(b, 'cat', { id, action: 'decline' })).status).toBe(200);
    const all = await stream.all();
    expect(answers.at(-1)).toEqual({ action: 'decline' });
    expect(all.find((frame) => frame.event === 'tool_end')?.data.output).toBe('no answer (decline)');
  });

  it('relays a URL-mode request (no form) and passes accept, then decline, back to the server', async () => {
    const a = makeHandler();
    const b = makeHandler();
    expect((await a.fetch(jsonRequest('/connect', 'fay', { llm: { model: 'fake' } }))).status).toBe(200);
    const link = async () => {
      const stream = new SseReader(
        await a.fetch(jsonRequest('/chat', 'fay', { message: 'link my account', streaming: true })),
      );
      const asked = await untilEvent(stream, 'elicitation');
      return { stream, asked, id: String(asked.data.id) };
    };

    const first = await link();
    expect(first.asked.data).toMatchObject({
      type: 'elicitation',
      mode: 'url',
      url: LINK_URL,
      message: 'Sign in to link your account.',
    });
    expect(first.asked.data).not.toHaveProperty('requested_schema');
    expect(typeof first.asked.data.expires_at).toBe('string');
    const before = answers.length;
    const accepted = await post(b, 'fay', { id: first.id, action: 'accept' });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ status: 'accept', id: first.id });
    const done = await first.stream.all();
    expect(answers.length).toBe(before + 1);
    // A URL-mode accept carries no content (MCP 2025-11-25: content is for forms only).
    expect(answers.at(-1)).toEqual({ action: 'accept' });
    expect(done.find((frame) => frame.event === 'tool_end')?.data.output).toBe('linked');
    expect(done.at(-1)).toMatchObject({ event: 'final', data: { content: 'The result is linked.' } });

    const second = await link();
    expect(second.id).not.toBe(first.id);
    expect((await post(b, 'fay', { id: second.id, action: 'decline' })).status).toBe(200);
    const declined = await second.stream.all();
    expect(answers.at(-1)).toEqual({ action: 'decline' });
    expect(declined.find((frame) => frame.event === 'tool_end')?.data.output).toBe('no answer (decline)');
  });

  it('cancels when nobody answers in time; a late answer is 404', async () => {
    const a = makeHandler({ elicitation: { timeoutMs: 300 } });
    const { stream, id } = await ask(a, 'dan', 5);
    const all = await stream.all();
    expect(answers.at(-1)).toEqual({ action: 'cancel' });
    expect(all.find((frame) => frame.event === 'tool_end')?.data.output).toBe('no answer (cancel)');
    const late = await post(a, 'dan', { id, action: 'accept' });
    expect(late.status).toBe(404);
    expect((await late.json()).code).toBe('ELICITATION_NOT_FOUND');
  });
});
