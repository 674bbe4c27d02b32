import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatHandlerOptions } from '../../src/http/chat-handler-options.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { memoryStorage } from '../../src/storage.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { bearerUser, jsonRequest, smartReply } from '../http/stack.js';
import { SseReader } from '../turns/turn-helpers.js';
import { untilEvent } from './ask-helpers.js';

// Tool approval (CONTRACT §7) over HTTP: two handlers on one storage stand for two processes.
describe('tool approval over HTTP', () => {
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  const handlers: ReturnType<typeof createChatHandler>[] = [];
  const storage = memoryStorage();

  function makeHandler(overrides: Partial<ChatHandlerOptions> = {}) {
    const handler = createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-approve' }],
      mcp: { defaultServer: { url: mcp.url }, allowedUrls: [mcp.url] },
      storage,
      keepAliveMs: 0,
      toolApproval: 'always',
      ...overrides,
    });
    handlers.push(handler);
    return handler;
  }

  beforeAll(async () => {
    llm = await startFakeOpenAI({ reply: smartReply });
    mcp = await startTestMcpHttpServer();
  });
  afterAll(async () => {
    await Promise.all(handlers.map((h) => h.close()));
    await Promise.all([llm?.close(), mcp?.close()]);
    await storage.close();
  });

  const chat = (handler: ReturnType<typeof createChatHandler>, user: string, message: string, streaming = true) =>
    handler.fetch(jsonRequest('/chat', user, { message, streaming }));
  const approve = (handler: ReturnType<typeof createChatHandler>, user: string, body: Record<string, unknown>) =>
    handler.fetch(jsonRequest('/approve', user, body));

  it('waits for the decision posted to another process, then runs the tool, once', async () => {
    const a = makeHandler();
    const b = makeHandler();
    expect((await a.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
    const stream = new SseReader(await chat(a, 'ann', 'add 2 and 3'));
    const frames = await stream.until(2);
    const asked = frames.find((frame) => frame.event === 'tool_approval');
    expect(asked?.data).toMatchObject({ type: 'tool_approval', tool: 'add', input: { a: 2, b: 3 } });
    expect(mcp.stats.calls.add ?? 0).toBe(0);

    // Another user cannot see or use it (403 for a mismatched user_id, 404 for their own).
    expect((await approve(b, 'eve', { user_id: 'ann', call_id: asked?.data.id, decision: 'approve' })).status).toBe(
      403,
    );
    const forged = await approve(b, 'eve', { call_id: asked?.data.id, decision: 'approve' });
    expect(forged.status).toBe(404);
    expect(await forged.json()).toEqual({ detail: 'No pending approval with this id.', code: 'APPROVAL_NOT_FOUND' });

    const answered = await approve(b, 'ann', { call_id: asked?.data.id, decision: 'approve' });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ status: 'approved' });
    const all = await stream.all();
    expect(all.at(-1)).toMatchObject({ event: 'final', data: { content: 'The result is 5.' } });
    // Used once: a replay is 404.
    expect((await approve(b, 'ann', { call_id: asked?.data.id, decision: 'approve' })).status).toBe(404);
  });

  it('an approval for the rest of the conversation ends with the conversation and with the session', async () => {
    const a = makeHandler();
    const connect = async () =>
      expect((await a.fetch(jsonRequest('/connect', 'cleo', { llm: { model: 'fake' } }))).status).toBe(200);
    const turn = (conversation_id: string) =>
      a.fetch(jsonRequest('/chat', 'cleo', { message: 'add 2 and 3', streaming: true, conversation_id }));
    /** Runs a turn; approves it for the conversation when it asks. Whether it asked. */
    const run = async (conversation: string): Promise<boolean> => {
      const stream = new SseReader(await turn(conversation));
      const first = (await stream.until(2)).find((frame) => frame.event === 'tool_approval');
      if (first) {
        const body = {
          call_id: first.data.id,
          decision: 'approve',
          scope: 'conversation',
          conversation_id: conversation,
        };
        expect((await approve(a, 'cleo', body)).status).toBe(200);
      }
      expect((await stream.all()).at(-1)).toMatchObject({ event: 'final', data: { content: 'The result is 5.' } });
      return first !== undefined;
    };
    await connect();
    expect(await run('c1')).toBe(true);
    expect(await run('c1')).toBe(false);
    // Deleted: the conversation starts over, its approvals too.
    expect((await a.fetch(jsonRequest('/history/cleo?conversation_id=c1', 'cleo', undefined, 'DELETE'))).status).toBe(
      200,
    );
    expect(await run('c1')).toBe(true);
    expect(await run('c1')).toBe(false);
    // A new connection (its tools may be others under the same names): asked again.
    await connect();
    expect(await run('c1')).toBe(true);
  });

  it('tells the model about a denial, and a non-streaming turn denies without asking', async () => {
    const a = makeHandler();
    await a.fetch(jsonRequest('/connect', 'bob', { llm: { model: 'fake' } }));
    const stream = new SseReader(await chat(a, 'bob', 'add 4 and 5'));
    const asked = (await stream.until(2)).find((frame) => frame.event === 'tool_approval');
    expect((await approve(a, 'bob', { call_id: asked?.data.id, decision: 'deny', reason: 'not now' })).status).toBe(
      200,
    );
    const all = await stream.all();
    expect(all.find((frame) => frame.event === 'tool_error')?.data.error).toContain('The user denied this tool call');
    expect(all.at(-1)?.data.content).toContain('not now');

    const plain = await (await chat(a, 'bob', 'add 6 and 7', false)).json();
    expect(plain.tool_invocations.find((event: { type: string }) => event.type === 'tool_error').error).toContain(
      'cannot ask for',
    );
  });

  it('keeps the heartbeat and the lease while it waits past lockTtlMs, then completes once approved', async () => {
    const lockTtlMs = 300;
    const a = makeHandler({ keepAliveMs: 50, lockTtlMs });
    const b = makeHandler({ lockTtlMs });
    const calls = mcp.stats.calls.add ?? 0;
    expect((await a.fetch(jsonRequest('/connect', 'gus', { llm: { model: 'fake' } }))).status).toBe(200);
    const stream = new SseReader(await chat(a, 'gus', 'add 1 and 2'));
    const asked = await untilEvent(stream, 'tool_approval');
    const seen = stream.frames.length;
    const pingsAtAsk = stream.comments.length;

    // Nobody answers; read on meanwhile, as a browser would.
    const rest = stream.all();
    await new Promise((resolve) => setTimeout(resolve, lockTtlMs));
    const pingsAfterOneTtl = stream.comments.length;
    await new Promise((resolve) => setTimeout(resolve, lockTtlMs * 2));
    expect(stream.comments.slice(pingsAtAsk, pingsAfterOneTtl)).toContain('ping');
    // The heartbeat goes on once the first lease would have ended had it not been renewed.
    expect(stream.comments.slice(pingsAfterOneTtl)).toContain('ping');
    expect(new Set(stream.comments)).toEqual(new Set(['ping']));
    // Still waiting: no event since the question, the tool has not run.
    expect(stream.frames.length).toBe(seen);
    expect(mcp.stats.calls.add ?? 0).toBe(calls);

    // Another process still refuses a second turn. (Had the lease run out, B would have taken the
    // turn over here: A's stream would then end without its final, which the end checks.)
    const second = await chat(b, 'gus', 'hello?');
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ code: 'TURN_IN_PROGRESS' });

    expect((await approve(b, 'gus', { call_id: asked.data.id, decision: 'approve' })).status).toBe(200);
    const all = await rest;
    expect(all.at(-1)).toMatchObject({ event: 'final', data: { content: 'The result is 3.' } });
    expect(mcp.stats.calls.add ?? 0).toBe(calls + 1);
  });

  it('validates its body and refuses nonsense options at start-up', async () => {
    const a = makeHandler();
    const bad = await approve(a, 'ann', { call_id: 'x', decision: 'maybe' });
    expect(bad.status).toBe(422);
    expect((await bad.json()).detail).toMatch(/^decision:/);
    expect(() => makeHandler({ toolApproval: 'sometimes' as never })).toThrow(/toolApproval/);
    expect(() => makeHandler({ toolApproval: { rule: 'always', timeoutMs: -1 } })).toThrow(/timeoutMs/);
  });
});
