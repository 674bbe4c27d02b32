import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmChatError } from '../../src/errors.js';
import type { ChatHandlerOptions } from '../../src/http/chat-handler-options.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { memoryStorage } from '../../src/storage.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { bearerUser, jsonRequest } from '../http/stack.js';
import { countWords, SseReader, textOf, turnReply } from './turn-helpers.js';

// One process, memory storage, `handler.fetch`: the turn machinery of CONTRACT §5 end to end.
describe('turns over handler.fetch (memory storage)', () => {
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  const handlers: ReturnType<typeof createChatHandler>[] = [];

  function makeHandler(overrides: Partial<ChatHandlerOptions> = {}) {
    const handler = createChatHandler({
      authenticate: bearerUser,
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-turns' }],
      mcp: { defaultServer: { url: mcp.url }, allowedUrls: [mcp.url] },
      keepAliveMs: 0,
      ...overrides,
    });
    handlers.push(handler);
    return handler;
  }
  let handler: ReturnType<typeof createChatHandler>;

  beforeAll(async () => {
    llm = await startFakeOpenAI({ reply: turnReply });
    mcp = await startTestMcpHttpServer();
    handler = makeHandler();
  });
  afterAll(async () => {
    await Promise.all(handlers.map((h) => h.close()));
    await Promise.all([llm?.close(), mcp?.close()]);
  });

  async function connect(user: string, target = handler) {
    const answer = await target.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
    expect(answer.status).toBe(200);
  }
  function chat(
    user: string,
    message: string,
    streaming = true,
    headers: Record<string, string> = {},
    target = handler,
  ) {
    const request = jsonRequest('/chat', user, { message, streaming });
    for (const [name, value] of Object.entries(headers)) request.headers.set(name, value);
    return target.fetch(request);
  }
  function events(user: string, options: { lastEventId?: string; query?: string } = {}, target = handler) {
    const request = jsonRequest(`/chat/events/${user}${options.query ?? ''}`, user);
    if (options.lastEventId) request.headers.set('last-event-id', options.lastEventId);
    return target.fetch(request);
  }
  const lastUser = (index: number) => {
    const messages = llm.requests[index]?.body?.messages ?? [];
    return messages.filter((m: { role: string }) => m.role === 'user').at(-1)?.content;
  };

  it("never streams another user's running turn to a user who names its id", async () => {
    await connect('tess');
    await connect('mallory');
    const response = await chat('tess', 'count 40');
    const turnId = response.headers.get('x-turn-id');
    const first = new SseReader(response);
    const seen = await first.until(2);
    // The id of the last event Tess saw: what follows is still in the memory of the turn.
    const stolen = await events('mallory', { lastEventId: String(seen.at(-1)?.id) });
    expect(String(seen.at(-1)?.id)).toMatch(new RegExp(`^${turnId}:\\d+$`));
    const frames = stolen.status === 200 ? await new SseReader(stolen).all() : [];
    // What her own log says of that id: nothing retained.
    expect(frames.map((frame) => [frame.event, (frame.data as { code?: string }).code])).toEqual([
      ['error', 'RESUME_LOST'],
    ]);
    await first.cancel();
  });

  it("answers an id past the turn's last event with RESUME_LOST, running or ended, not with a silent stream", async () => {
    await connect('ulla');
    const response = await chat('ulla', 'count 40');
    const turnId = response.headers.get('x-turn-id');
    const first = new SseReader(response);
    await first.until(2);
    const codes = async () => {
      const resumed = await events('ulla', { lastEventId: `${turnId}:999999999999` });
      expect(resumed.status).toBe(200);
      return (await new SseReader(resumed).all()).map((frame) => (frame.data as { code?: string }).code);
    };
    expect(await codes()).toEqual(['RESUME_LOST']);
    await first.all();
    expect(await codes()).toEqual(['RESUME_LOST']);
  });

  it('reloading mid-answer and resuming with the last id gives exactly the remaining events', async () => {
    await connect('rita');
    const response = await chat('rita', 'count 40');
    const turnId = response.headers.get('x-turn-id');
    expect(turnId).toBeTruthy();
    const first = new SseReader(response);
    const seen = (await first.until(5)).slice(0, 5);
    await first.cancel();
    const resumed = await events('rita', { lastEventId: seen.at(-1)?.id as string });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('x-turn-id')).toBe(turnId);
    const rest = await new SseReader(resumed).all();
    const ids = [...seen, ...rest].map((frame) => frame.id);
    expect(ids).toEqual(ids.map((_, i) => `${turnId}:${i + 1}`));
    expect(textOf([...seen, ...rest])).toBe(countWords(40).join(''));
    expect(rest.at(-1)).toMatchObject({ event: 'final', data: { content: countWords(40).join(''), turn_id: turnId } });
    // The turn was saved whole although its first reader left.
    const next = await chat('rita', 'hello?', false);
    expect((await next.json()).response).toBe('Hello from the fake.');
    const sent = llm.requests.at(-1)?.body.messages;
    expect(sent.find((m: { role: string }) => m.role === 'assistant')?.content).toBe(countWords(40).join(''));
  });

  it('lets several readers follow one turn, the latest turn without an id, and answers 204 when all is read', async () => {
    await connect('sam');
    const response = await chat('sam', 'count 12');
    const second = await events('sam');
    const third = await events('sam', { query: '?last_event_id=' });
    const [a, b, c] = await Promise.all([
      new SseReader(response).all(),
      new SseReader(second).all(),
      new SseReader(third).all(),
    ]);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a.at(-1)?.event).toBe('final');
    // A browser EventSource reconnects with the final's id: 204 makes it stop.
    expect((await events('sam', { lastEventId: a.at(-1)?.id as string })).status).toBe(204);
    // Without an id, the latest retained turn is replayed from its start.
    expect(await new SseReader(await events('sam')).all()).toEqual(a);
    expect((await events('nobody')).status).toBe(204);
  });

  it('answers an id that is not retained with one RESUME_LOST error event, and keeps users apart', async () => {
    await connect('tom');
    const lost = await new SseReader(await events('tom', { lastEventId: 'AAAAAAAAAAAAAAAA:3' })).all();
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ event: 'error', data: { code: 'RESUME_LOST', recoverable: true } });
    expect(lost[0]?.id).toMatch(/:end$/);
    // Reconnecting with that id ends the retries.
    expect((await events('tom', { lastEventId: lost[0]?.id as string })).status).toBe(204);
    const garbage = await new SseReader(await events('tom', { lastEventId: 'garbage' })).all();
    expect(garbage[0]?.data.code).toBe('RESUME_LOST');
    // Another user's turn id reads as lost: keys are per user.
    const response = await chat('tom', 'hello?');
    const frames = await new SseReader(response).all();
    await connect('uma');
    const foreign = await new SseReader(await events('uma', { lastEventId: frames[0]?.id as string })).all();
    expect(foreign[0]?.data.code).toBe('RESUME_LOST');
    expect((await handler.fetch(jsonRequest('/chat/events/tom', 'uma'))).status).toBe(403);
  });

  it('ends a read the storage failed with an error of no id: reconnecting with the last id goes on', async () => {
    const storage = memoryStorage();
    const turns = storage.turns as NonNullable<typeof storage.turns>;
    const read = turns.read.bind(turns);
    let failing = false;
    turns.read = (...args) =>
      failing
        ? Promise.reject(new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend is unavailable.'))
        : read(...args);
    const own = makeHandler({ storage });
    await connect('wes', own);
    const frames = await new SseReader(await chat('wes', 'count 12', true, {}, own)).all();
    expect(frames.at(-1)?.event).toBe('final');
    failing = true;
    const cut = await new SseReader(await events('wes', { lastEventId: frames[2]?.id as string }, own)).all();
    expect(cut.at(-1)).toMatchObject({ event: 'error', data: { code: 'BACKEND_UNAVAILABLE', recoverable: true } });
    // No id: an EventSource keeps the last one it saw, and its reconnect picks the turn up there.
    expect(cut.at(-1)?.id).toBeUndefined();
    failing = false;
    const rest = await new SseReader(await events('wes', { lastEventId: frames[2]?.id as string }, own)).all();
    expect(rest).toEqual(frames.slice(3));
  });

  it('stops a streaming turn from a /stop request: every reader ends with final stopped, history stays valid', async () => {
    await connect('vic');
    const response = await chat('vic', 'count 400');
    const first = new SseReader(response);
    await first.until(3);
    const other = new SseReader(await events('vic'));
    await other.until(3);
    const llmRequest = llm.requests.at(-1);
    const stopped = await handler.fetch(jsonRequest('/stop', 'vic', {}));
    expect(await stopped.json()).toEqual({
      status: 'stopped',
      user_id: 'vic',
      turn_id: response.headers.get('x-turn-id'),
    });
    await llmRequest?.settled;
    expect(llmRequest?.aborted).toBe(true);
    const [a, b] = await Promise.all([first.all(), other.all()]);
    expect(b).toEqual(a);
    const final = a.at(-1);
    expect(final).toMatchObject({ event: 'final', data: { stopped: true, content: textOf(a) } });
    expect(textOf(a).length).toBeGreaterThan(0);
    expect(textOf(a)).not.toBe(countWords(400).join(''));
    expect(await (await handler.fetch(jsonRequest('/stop', 'vic', {}))).json()).toEqual({
      status: 'no_active_turn',
      user_id: 'vic',
    });
    // The next turn is accepted by the LLM with the partial turn in its history.
    const next = await chat('vic', 'hello?', false);
    expect(next.status).toBe(200);
    expect(lastUser(llm.requests.length - 1)).toBe('hello?');
  });

  it('stops a turn that waits on a slow tool (the MCP server sees the cancellation) or on the first LLM byte', async () => {
    await connect('wes');
    const startedBefore = mcp.stats.slowStarted;
    const response = await chat('wes', 'run the slow tool');
    const reader = new SseReader(response);
    await reader.until(1);
    expect(reader.frames[0]?.event).toBe('tool_start');
    const cancelledBefore = mcp.stats.slowCancelled;
    // `tool_start` goes out before the call reaches the server: stop once the server runs it.
    await expect.poll(() => mcp.stats.slowStarted, { timeout: 3000 }).toBeGreaterThan(startedBefore);
    expect(
      await (await handler.fetch(jsonRequest('/stop', 'wes', { turn_id: response.headers.get('x-turn-id') }))).json(),
    ).toMatchObject({ status: 'stopped' });
    const frames = await reader.all();
    expect(frames.at(-1)).toMatchObject({ event: 'final', data: { stopped: true, tools: ['slow'], tool_used: true } });
    await expect.poll(() => mcp.stats.slowCancelled, { timeout: 3000 }).toBe(cancelledBefore + 1);

    const stalled = await chat('wes', 'stall please');
    const stalledReader = new SseReader(stalled);
    await expect.poll(() => lastUser(llm.requests.length - 1)).toBe('stall please');
    const llmRequest = llm.requests.at(-1);
    // An empty turn_id is no turn_id, as an empty user_id is no user_id.
    expect(await (await handler.fetch(jsonRequest('/stop', 'wes', { turn_id: '' }))).json()).toMatchObject({
      status: 'stopped',
    });
    await llmRequest?.settled;
    expect(llmRequest?.aborted).toBe(true);
    expect((await stalledReader.all()).at(-1)).toMatchObject({ event: 'final', data: { stopped: true, content: '' } });
    expect((await chat('wes', 'hello?', false)).status).toBe(200);
  });

  it('a turn started with an Idempotency-Key runs once: retries replay it, streaming or not', async () => {
    await connect('xia');
    const before = llm.requests.length;
    const headers = { 'idempotency-key': 'send-1' };
    const first = await chat('xia', 'count 8', true, headers);
    const retry = await chat('xia', 'count 8', true, headers);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('x-turn-id')).toBe(first.headers.get('x-turn-id'));
    const [a, b] = await Promise.all([new SseReader(first).all(), new SseReader(retry).all()]);
    expect(b).toEqual(a);
    const after = await chat('xia', 'count 8', false, headers);
    expect(await after.json()).toMatchObject({
      response: countWords(8).join(''),
      turn_id: first.headers.get('x-turn-id'),
    });
    expect(llm.requests.length - before).toBe(1);
    const reused = await chat('xia', 'something else', true, headers);
    expect(reused.status).toBe(422);
    expect((await reused.json()).code).toBe('IDEMPOTENCY_KEY_REUSED');
    const bad = await chat('xia', 'hi', true, { 'idempotency-key': 'with space' });
    expect(bad.status).toBe(422);
    // A key whose turn could not start (another turn runs) does not stick: a retry starts it.
    const running = await chat('xia', 'count 30');
    const refused = await chat('xia', 'hello?', false, { 'idempotency-key': 'send-2' });
    expect(refused.status).toBe(409);
    await new SseReader(running).all();
    const retried = await chat('xia', 'hello?', false, { 'idempotency-key': 'send-2' });
    expect((await retried.json()).response).toBe('Hello from the fake.');
  });

  it('a retried Idempotency-Key gets the same failure as the first send, without calling the LLM again', async () => {
    await connect('xan');
    const headers = { 'idempotency-key': 'failing-send' };
    const first = await chat('xan', 'fail hard', false, headers);
    const firstBody = await first.json();
    expect(first.status).toBeGreaterThanOrEqual(400);
    const calls = llm.requests.length;
    const retry = await chat('xan', 'fail hard', false, headers);
    expect([retry.status, (await retry.json()).code]).toEqual([first.status, firstBody.code]);
    expect(llm.requests.length).toBe(calls);
  });

  it("keeps a failed turn's Idempotency-Key on that turn: nothing more is written to its log", async () => {
    const storage = memoryStorage();
    const turns = storage.turns as NonNullable<typeof storage.turns>;
    // Every write that starts a log at seq 1, by log key: a host backend that does not check
    // the order would take a second one, and the retry would then run the turn again.
    const starts = new Map<string, number>();
    const count = (key: string, entries: readonly { seq: number }[]) => {
      if (entries[0]?.seq === 1) starts.set(key, (starts.get(key) ?? 0) + 1);
    };
    const append = turns.append.bind(turns);
    turns.append = (key, entries, options) => {
      count(key, entries);
      return append(key, entries, options);
    };
    const appendSync = turns.appendSync?.bind(turns);
    if (appendSync) {
      turns.appendSync = (key, entries, options) => {
        count(key, entries);
        return appendSync(key, entries, options);
      };
    }
    const strict = makeHandler({ storage });
    await connect('ines', strict);
    const headers = { 'idempotency-key': 'failing-once' };
    const first = await chat('ines', 'fail hard', false, headers, strict);
    expect(first.status).toBeGreaterThanOrEqual(400);
    await first.arrayBuffer();
    expect([...starts.values()]).toEqual([1]);
    const calls = llm.requests.length;
    const retry = await chat('ines', 'fail hard', false, headers, strict);
    expect(retry.status).toBe(first.status);
    expect(llm.requests.length).toBe(calls);
    expect([...starts.values()]).toEqual([1]);
  });

  it('restores the 0.1 rule with stopOnDisconnect: a client going away stops the LLM', async () => {
    const strict = makeHandler({ stopOnDisconnect: true });
    await connect('yan', strict);
    const reader = new SseReader(await chat('yan', 'count 400', true, {}, strict));
    await reader.until(2);
    const llmRequest = llm.requests.at(-1);
    await reader.cancel();
    await llmRequest?.settled;
    expect(llmRequest?.aborted).toBe(true);
  });

  it('still runs turns when the bus cannot subscribe (stop then only works on this process)', async () => {
    const storage = memoryStorage();
    const broken = makeHandler({
      storage: {
        ...storage,
        bus: {
          publish: async () => {},
          subscribe: async () => {
            throw new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend is unavailable.');
          },
        },
      },
    });
    await connect('abe', broken);
    const frames = await new SseReader(await chat('abe', 'hello?', true, {}, broken)).all();
    expect(frames.at(-1)).toMatchObject({ event: 'final', data: { content: 'Hello from the fake.' } });
    await storage.close();
  });

  it('forgets a turn after the retention time', async () => {
    const brief = makeHandler({ turnRetentionMs: 200 });
    await connect('zoe', brief);
    const frames = await new SseReader(await chat('zoe', 'hello?', true, {}, brief)).all();
    expect((await events('zoe', { lastEventId: frames[0]?.id as string }, brief)).status).toBe(200);
    await expect
      .poll(
        async () =>
          (await new SseReader(await events('zoe', { lastEventId: frames[0]?.id as string }, brief)).all())[0]?.data
            .code,
        {
          timeout: 3000,
        },
      )
      .toBe('RESUME_LOST');
  });
});
