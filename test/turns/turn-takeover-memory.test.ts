import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONTINUE_INSTRUCTION } from '../../src/chat/continue-answer.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { INTERRUPTED_CALL_MESSAGE } from '../../src/http/turn-takeover.js';
import { conversationTurnLockKey } from '../../src/session/session-keys.js';
import { SessionStore } from '../../src/session/session-store.js';
import { memoryStorage } from '../../src/storage.js';
import { turnStopKey } from '../../src/turns/turn-keys.js';
import { type RecordedEvent, TurnLog } from '../../src/turns/turn-log.js';
import type { FakeReply, RecordedRequest } from '../fixtures/fake-llm-common.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { bearerUser, jsonRequest } from '../http/stack.js';
import { countWords, type SseFrame, SseReader, textOf } from './turn-helpers.js';

// Takeover on the memory backends: the crashed process is stood in for by what it leaves in the
// storage (a latest-turn record not ended, some events, no lease), and a handler sharing that
// storage takes the turn over when a reader attaches.

type Message = { role: string; content?: unknown };

function reply(request: RecordedRequest): FakeReply {
  const messages = (request.body?.messages ?? []) as Message[];
  const last = messages.at(-1);
  if (last?.content === CONTINUE_INSTRUCTION) {
    const said = String(messages.at(-2)?.content).trim().split(/\s+/).length;
    return { kind: 'text', chunks: countWords(5).slice(said) };
  }
  if (last?.role === 'tool') return { kind: 'text', chunks: ['after ', 'tools'] };
  return { kind: 'text', chunks: ['unexpected'] };
}

describe('a turn left behind by a dead process, taken over on memory storage', () => {
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  const storage = memoryStorage();
  const log = new TurnLog(storage.turns as NonNullable<typeof storage.turns>);
  let handler: ReturnType<typeof createChatHandler>;

  beforeAll(async () => {
    llm = await startFakeOpenAI({ reply });
    mcp = await startTestMcpHttpServer();
    handler = handlerOnStorage();
  });
  afterAll(async () => {
    await handler?.close();
    await storage.close();
    await Promise.all([llm?.close(), mcp?.close()]);
  });

  /** A handler over the shared storage (another process, as far as turns go). */
  function handlerOnStorage(extra: Partial<Parameters<typeof createChatHandler>[0]> = {}) {
    return createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-takeover' }],
      mcp: { defaultServer: { url: mcp.url }, allowedUrls: [mcp.url] },
      storage,
      keepAliveMs: 0,
      ...extra,
    });
  }

  /** Connects `user` and leaves a turn of `message` with `events` recorded, as a killed process would. */
  async function leftBehind(
    user: string,
    message: string,
    events: Array<Omit<RecordedEvent, 'seq'>>,
    connected = true,
  ) {
    if (connected) {
      expect((await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
    }
    const turnId = TurnLog.newTurnId();
    const ref = { userId: user, turnId };
    const recorded = events.map((event, i) => ({ ...event, seq: i + 1 }));
    if (recorded.length > 0) expect(await log.append(ref, recorded, 60_000, { epoch: 1 })).toBe(true);
    // It started a while ago: the continued turn's elapsed_ms counts from then.
    const startedAt = Date.now() - 5_000;
    await log.setLatest(user, undefined, { turnId, owner: 'dead-process', startedAt, message }, 60_000);
    return { ref, recorded };
  }

  async function attach(user: string): Promise<SseFrame[]> {
    const response = await handler.fetch(jsonRequest(`/chat/events/${user}`, user));
    expect(response.status).toBe(200);
    return new SseReader(response).all();
  }

  const history = async (user: string) =>
    (await (await handler.fetch(jsonRequest(`/history/${user}`, user))).json()).messages as Message[];

  it('continues a cut answer: the reader gets the recorded events then the rest, once', async () => {
    const { ref } = await leftBehind('mara', 'count 5', [
      { event: 'token', data: { content: 'c1 ' } },
      { event: 'token', data: { content: 'c2 ' } },
    ]);
    const frames = await attach('mara');
    expect(frames.map((frame) => frame.id)).toEqual(frames.map((_, i) => `${ref.turnId}:${i + 1}`));
    expect(textOf(frames)).toBe(countWords(5).join(''));
    expect(frames.at(-1)).toMatchObject({ event: 'final', data: { content: countWords(5).join('') } });
    expect(frames.at(-1)?.data.elapsed_ms).toBeGreaterThanOrEqual(5_000);
    expect((await history('mara')).map((m) => [m.role, m.content])).toEqual([
      ['user', 'count 5'],
      ['assistant', countWords(5).join('')],
    ]);
    // The dead owner's epoch is fenced out.
    expect(await log.append(ref, [{ seq: 99, event: 'token', data: { content: 'late' } }], 60_000, { epoch: 1 })).toBe(
      false,
    );
  });

  it("counts the LLM calls of the turn it took over, as the turn's own process would have", async () => {
    const counting = handlerOnStorage({ usage: true });
    try {
      await leftBehind('ursa', 'count 5', [{ event: 'token', data: { content: 'c1 ' } }]);
      const response = await counting.fetch(jsonRequest('/chat/events/ursa', 'ursa'));
      expect(textOf(await new SseReader(response).all())).toBe(countWords(5).join(''));
      const usage = async () =>
        (await (await counting.fetch(jsonRequest('/usage/ursa', 'ursa'))).json()) as {
          total: { llm_calls: number; turns: number };
        };
      await vi.waitFor(async () => expect((await usage()).total.llm_calls).toBe(1));
      expect((await usage()).total.turns).toBe(1);
    } finally {
      await counting.close();
    }
  });

  it("gives DeepSeek's thinking mode the recorded reasoning of a tool round back", async () => {
    const deepseek = await startFakeOpenAI({
      flavor: 'deepseek',
      reply: () => ({ kind: 'text', reasoning: ['Got 5.'], chunks: ['It is 5.'] }),
    });
    const thinking = handlerOnStorage({
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: deepseek.url, apiKey: 'sk-takeover' }],
      reasoningEvents: true,
    });
    try {
      const at = new Date().toISOString();
      await leftBehind('rhea', 'add 2 and 3', [
        { event: 'reasoning', data: { content: 'Need ' } },
        { event: 'reasoning', data: { content: 'the tool.' } },
        {
          event: 'tool_start',
          data: { type: 'tool_start', id: 'call_1', tool: 'add', input: { a: 2, b: 3 }, start: at },
        },
        { event: 'tool_end', data: { type: 'tool_end', id: 'call_1', tool: 'add', output: '5', end: at } },
      ]);
      const response = await thinking.fetch(jsonRequest('/chat/events/rhea', 'rhea'));
      const frames = await new SseReader(response).all();
      expect(frames.at(-1)).toMatchObject({ event: 'final', data: { content: 'It is 5.' } });
      const [sent] = deepseek.requests;
      expect(sent?.body.messages[1]).toMatchObject({ role: 'assistant', reasoning_content: 'Need the tool.' });
    } finally {
      await thinking.close();
      await deepseek.close();
    }
  });

  it('closes a cut call of a tool that is not idempotent as interrupted, without calling it', async () => {
    const counted = mcp.stats.calls.counter ?? 0;
    const start = { type: 'tool_start', id: 'call_9', tool: 'counter', input: {}, start: new Date().toISOString() };
    await leftBehind('nils', 'count up', [{ event: 'tool_start', data: start }]);
    const frames = await attach('nils');
    expect(frames.map((frame) => frame.event).filter((name) => name !== 'token')).toEqual([
      'tool_start',
      'tool_error',
      'final',
    ]);
    expect(textOf(frames)).toBe('after tools');
    expect(frames[1]?.data).toMatchObject({ id: 'call_9', tool: 'counter', error: INTERRUPTED_CALL_MESSAGE });
    expect(mcp.stats.calls.counter ?? 0).toBe(counted);
    const sent = llm.requests.at(-1)?.body.messages.at(-1);
    expect(sent.role).toBe('tool');
    expect(sent.content).toContain(INTERRUPTED_CALL_MESSAGE);
  });

  it('only records the end of a turn its owner saved before dying: no second run, one history turn', async () => {
    const requests = llm.requests.length;
    const { ref } = await leftBehind('olga', 'count 2', [
      { event: 'token', data: { content: 'c1 ' } },
      { event: 'token', data: { content: 'c2 ' } },
    ]);
    const store = new SessionStore(storage.sessions);
    const saved = { role: 'user' as const, content: 'count 2', turnId: ref.turnId };
    await store.appendTurn('olga', [saved, { role: 'assistant', content: 'c1 c2 ' }]);
    const frames = await attach('olga');
    expect(frames.map((frame) => frame.event)).toEqual(['token', 'token', 'final']);
    expect(frames.at(-1)?.data).toMatchObject({ content: 'c1 c2 ', turn_id: ref.turnId });
    expect(llm.requests.length).toBe(requests);
    expect(await history('olga')).toHaveLength(2);
  });

  it('a stop sent while the dead process still held its lease is honoured by whoever takes the turn over', async () => {
    const requests = llm.requests.length;
    const { ref } = await leftBehind('pia', 'count 5', [{ event: 'token', data: { content: 'c1 ' } }]);
    // The dead process's lease has not ended yet.
    const lockKey = conversationTurnLockKey('pia', 'default');
    expect(await storage.locks.tryAcquire(lockKey, 'dead-token', 60_000)).toBe(true);
    const stopping = handler.fetch(jsonRequest('/stop', 'pia', {}));
    const turnsBackend = storage.turns as NonNullable<typeof storage.turns>;
    await vi.waitFor(async () => expect(await turnsBackend.get(turnStopKey('pia', ref.turnId))).not.toBeNull());
    // The lease ends; a reader arrives and takes the turn over: it ends stopped, the LLM never asked.
    await storage.locks.release(lockKey, 'dead-token');
    const frames = await attach('pia');
    expect(frames.map((frame) => frame.event)).toEqual(['token', 'final']);
    expect(frames.at(-1)?.data).toMatchObject({ stopped: true, content: 'c1 ', turn_id: ref.turnId });
    expect(await (await stopping).json()).toMatchObject({ status: 'stopped', turn_id: ref.turnId });
    expect(llm.requests.length).toBe(requests);
    expect(await history('pia')).toMatchObject([
      { role: 'user', content: 'count 5' },
      { role: 'assistant', content: 'c1 ', stopped: true },
    ]);
  });

  it('a send retried with its Idempotency-Key after the process died finishes the turn and answers with it', async () => {
    const { ref } = await leftBehind('quinn', 'count 5', [{ event: 'token', data: { content: 'c1 ' } }]);
    const digest = createHash('sha256').update('count 5').digest('base64url');
    expect(await log.claimIdempotencyKey('quinn', undefined, 'retry-1', { turnId: ref.turnId, digest })).toBeNull();
    const request = jsonRequest('/chat', 'quinn', { message: 'count 5' });
    request.headers.set('idempotency-key', 'retry-1');
    const answer = await handler.fetch(request);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ response: countWords(5).join(''), turn_id: ref.turnId });
    expect(await history('quinn')).toHaveLength(2);
  });

  it('a new send that meets a dead turn takes it over first, then meets it running (409); the next send runs after it', async () => {
    const { ref } = await leftBehind('nico', 'count 5', [{ event: 'token', data: { content: 'c1 ' } }]);
    const refused = await handler.fetch(jsonRequest('/chat', 'nico', { message: 'next one' }));
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'TURN_IN_PROGRESS' });
    expect((await log.getLatest('nico'))?.turnId).toBe(ref.turnId);
    // Taken over by that send, before any reader came: the dead owner's epoch is fenced out.
    expect(await log.holdsEpoch(ref, 1)).toBe(false);
    const frames = await attach('nico');
    expect(frames[0]?.id).toBe(`${ref.turnId}:1`);
    expect(textOf(frames)).toBe(countWords(5).join(''));
    const next = await handler.fetch(jsonRequest('/chat', 'nico', { message: 'next one' }));
    expect(next.status).toBe(200);
    expect((await history('nico')).map((m) => [m.role, m.content])).toEqual([
      ['user', 'count 5'],
      ['assistant', countWords(5).join('')],
      ['user', 'next one'],
      ['assistant', 'unexpected'],
    ]);
  });

  it('under the queue policy, a send that meets a dead turn takes it over, waits for it, then runs', async () => {
    const queued = handlerOnStorage({ turnPolicy: 'queue' });
    try {
      await leftBehind('olga', 'count 5', [{ event: 'token', data: { content: 'c1 ' } }]);
      const sent = await queued.fetch(jsonRequest('/chat', 'olga', { message: 'next one' }));
      expect(sent.status).toBe(200);
      expect(await sent.json()).toMatchObject({ response: 'unexpected' });
      expect((await history('olga')).map((m) => [m.role, m.content])).toEqual([
        ['user', 'count 5'],
        ['assistant', countWords(5).join('')],
        ['user', 'next one'],
        ['assistant', 'unexpected'],
      ]);
    } finally {
      await queued.close();
    }
  });

  it('ends a turn that cannot be continued (its session is gone) with an error, instead of leaving readers waiting', async () => {
    const { ref } = await leftBehind('sven', 'count 5', [{ event: 'token', data: { content: 'c1 ' } }], false);
    const frames = await attach('sven');
    expect(frames.map((frame) => frame.event)).toEqual(['token', 'error']);
    expect(frames.at(-1)?.data).toMatchObject({ code: 'SESSION_NOT_FOUND', turn_id: ref.turnId });
    expect((await log.getLatest('sven'))?.ended).toBe(true);
  });
});
