import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, type Stack, startStack } from '../http/stack.js';

const PREFIX = `llmchat-test:${randomUUID()}:`;
const redisAvailable = await requireRedis('conversation routes on Redis');
const redis = redisAvailable ? new Redis(REDIS_URL) : undefined;

afterAll(async () => {
  if (redis) {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  }
});

const backends: Array<[string, () => ChatStorage]> = [['memory', () => memoryStorage()]];
if (redis) backends.push(['redis', () => redisStorage(redis, { keyPrefix: PREFIX })]);

describe.each(backends)('conversations and history over HTTP (%s)', (_name, makeStorage) => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  const user = () => `u-${randomUUID()}`;
  const chat = (who: string, message: string, conversationId?: string) =>
    stack!.handler.fetch(
      jsonRequest('/chat', who, {
        message,
        ...(conversationId === undefined ? {} : { conversation_id: conversationId }),
      }),
    );
  const get = async (path: string, who: string) => {
    const response = await stack!.handler.fetch(jsonRequest(path, who));
    return { status: response.status, body: await response.json() };
  };

  it('keeps each conversation its own history, and lists them newest first with titles', async () => {
    stack = await startStack({ storage: makeStorage() });
    const ann = user();
    expect((await stack.handler.fetch(jsonRequest('/connect', ann, { llm: { model: 'fake' } }))).status).toBe(200);
    expect((await (await chat(ann, 'add 2 and 3', 'math')).json()).response).toBe('The result is 5.');
    expect((await (await chat(ann, 'Hello there\nsecond line', 'greetings')).json()).response).toBe(
      'Hello from the fake.',
    );
    expect((await (await chat(ann, 'add 10 and 20', 'math')).json()).response).toBe('The result is 30.');
    // The default conversation is the gateway's: a client that sends no id sees no change.
    expect((await (await chat(ann, 'hi')).json()).response).toBe('Hello from the fake.');

    // The last LLM request of "math" saw only math turns.
    const mathRequest = stack.llm.requests.findLast((r) => JSON.stringify(r.body).includes('add 10 and 20'));
    const sent = JSON.stringify(mathRequest?.body.messages);
    expect(sent).toContain('add 2 and 3');
    expect(sent).not.toContain('Hello there');

    const list = await get(`/conversations/${ann}`, ann);
    expect(list.status).toBe(200);
    expect(list.body.has_more).toBe(false);
    expect(list.body.conversations.map((c: { conversation_id: string }) => c.conversation_id)).toEqual([
      'default',
      'math',
      'greetings',
    ]);
    const math = list.body.conversations[1];
    expect(math).toMatchObject({ title: 'add 2 and 3', turns: 2, running: false });
    expect(Date.parse(math.created_at)).toBeLessThanOrEqual(Date.parse(math.updated_at));
    expect(list.body.conversations[2].title).toBe('Hello there');

    const paged = await get(`/conversations/${ann}?limit=2`, ann);
    expect(paged.body.has_more).toBe(true);
    const next = await get(
      `/conversations/${ann}?limit=2&before=${encodeURIComponent(paged.body.conversations[1].updated_at)}`,
      ann,
    );
    expect(next.body.conversations.map((c: { conversation_id: string }) => c.conversation_id)).toEqual(['greetings']);

    const history = await get(`/history/${ann}?conversation_id=math`, ann);
    expect(history.status).toBe(200);
    expect(history.body.conversation_id).toBe('math');
    expect(history.body.has_more).toBe(false);
    const [q1, a1, q2, a2] = history.body.messages;
    expect(q1).toMatchObject({ role: 'user', content: 'add 2 and 3' });
    expect(Number.isFinite(Date.parse(q1.at))).toBe(true);
    expect(a1).toMatchObject({
      role: 'assistant',
      content: 'The result is 5.',
      tool_calls: [{ tool: 'add', input: { a: 2, b: 3 } }],
    });
    expect(a1.tool_calls[0].output).toBeDefined();
    expect(q2.content).toBe('add 10 and 20');
    expect(a2.content).toBe('The result is 30.');
  });

  it('deletes one conversation: its history and its list entry, and nothing else', async () => {
    stack = await startStack({ storage: makeStorage() });
    const ann = user();
    await stack.handler.fetch(jsonRequest('/connect', ann, { llm: { model: 'fake' } }));
    await chat(ann, 'hello', 'keep');
    await chat(ann, 'hello', 'drop');
    const deleted = await stack.handler.fetch(
      jsonRequest(`/history/${ann}?conversation_id=drop`, ann, undefined, 'DELETE'),
    );
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ status: 'cleared', conversation_id: 'drop' });
    expect((await get(`/history/${ann}?conversation_id=drop`, ann)).body.messages).toEqual([]);
    expect((await get(`/history/${ann}?conversation_id=keep`, ann)).body.messages).toHaveLength(2);
    const ids = (await get(`/conversations/${ann}`, ann)).body.conversations.map(
      (c: { conversation_id: string }) => c.conversation_id,
    );
    expect(ids).toEqual(['keep']);
  });

  it('disconnect clears the default conversation and keeps the named ones', async () => {
    stack = await startStack({ storage: makeStorage() });
    const ann = user();
    await stack.handler.fetch(jsonRequest('/connect', ann, { llm: { model: 'fake' } }));
    await chat(ann, 'hello');
    await chat(ann, 'hello', 'named');
    expect((await stack.handler.fetch(jsonRequest('/disconnect', ann, {}))).status).toBe(200);
    const ids = (await get(`/conversations/${ann}`, ann)).body.conversations.map(
      (c: { conversation_id: string }) => c.conversation_id,
    );
    expect(ids).toEqual(['named']);
    expect((await get(`/history/${ann}`, ann)).body.messages).toEqual([]);
    expect((await get(`/history/${ann}?conversation_id=named`, ann)).body.messages).toHaveLength(2);
  });

  it('a reconnect starts the default conversation over, its list entry too, and keeps the named ones', async () => {
    stack = await startStack({ storage: makeStorage() });
    const ann = user();
    await stack.handler.fetch(jsonRequest('/connect', ann, { llm: { model: 'fake' } }));
    await chat(ann, 'first topic');
    await chat(ann, 'hello', 'named');
    expect((await stack.handler.fetch(jsonRequest('/connect', ann, { llm: { model: 'fake' } }))).status).toBe(200);
    const listed = () =>
      get(`/conversations/${ann}`, ann).then((page) =>
        page.body.conversations.map((c: { conversation_id: string; title: string }) => [c.conversation_id, c.title]),
      );
    expect(await listed()).toEqual([['named', 'hello']]);
    expect((await get(`/history/${ann}`, ann)).body.messages).toEqual([]);
    // The next turn titles the default conversation afresh.
    await chat(ann, 'second topic');
    expect(await listed()).toContainEqual(['default', 'second topic']);
  });

  it("never shows one user another user's conversations, and validates every parameter", async () => {
    stack = await startStack({ storage: makeStorage() });
    const [ann, bob] = [user(), user()];
    await stack.handler.fetch(jsonRequest('/connect', ann, { llm: { model: 'fake' } }));
    await chat(ann, 'secret plans', 'private');
    for (const path of [`/conversations/${ann}`, `/history/${ann}?conversation_id=private`]) {
      const response = await get(path, bob);
      expect(response.status).toBe(403);
      expect(JSON.stringify(response.body)).not.toContain('secret');
    }
    const denied = await stack.handler.fetch(
      jsonRequest(`/history/${ann}?conversation_id=private`, bob, undefined, 'DELETE'),
    );
    expect(denied.status).toBe(403);
    expect((await get(`/history/${ann}?conversation_id=private`, ann)).body.messages).toHaveLength(2);
    // Bob's own (empty) list says nothing of Ann's.
    expect((await get(`/conversations/${bob}`, bob)).body).toEqual({ conversations: [], has_more: false });
    expect((await get('/conversations/', bob)).status).toBe(404);

    for (const path of [
      `/history/${ann}?conversation_id=${encodeURIComponent('a b')}`,
      `/history/${ann}?limit=0`,
      `/history/${ann}?before=yesterday`,
      // Past what a Date can hold: refused, not a 500.
      `/history/${ann}?before=8640000000000001`,
      `/conversations/${ann}?before=8640000000000001`,
      `/conversations/${ann}?limit=abc`,
      `/conversations/${ann}?limit=1000`,
      // Only decimal digits: not an exponent, hex, a sign, spaces or a fraction.
      `/conversations/${ann}?limit=1e1`,
      `/conversations/${ann}?limit=0x10`,
      `/conversations/${ann}?limit=%205`,
      `/conversations/${ann}?limit=5.0`,
      `/conversations/${ann}?limit=`,
    ]) {
      const response = await get(path, ann);
      expect(response.status, path).toBe(422);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    }
    const badChat = await chat(ann, 'hi', '../../etc');
    expect(badChat.status).toBe(422);
    // The pattern's own reason, not a bare "is invalid".
    expect((await badChat.json()).detail).toBe('conversation_id: must be 1-128 characters of A-Z a-z 0-9 . _ : -');
    const badLimit = await get(`/conversations/${ann}?limit=1e1`, ann);
    expect(badLimit.body.detail).toBe('limit: must be a whole number written in decimal digits');
  });

  it('lets two conversations of one user run at once, while one conversation still takes one turn at a time', async () => {
    stack = await startStack({ storage: makeStorage() });
    const ann = user();
    await stack.handler.fetch(jsonRequest('/connect', ann, { llm: { model: 'fake' } }));
    const [a, b, c] = await Promise.all([
      chat(ann, 'answer slowly', 'one'),
      chat(ann, 'answer slowly', 'two'),
      chat(ann, 'answer slowly', 'one'),
    ]);
    const statuses = [a.status, b.status, c.status];
    expect(statuses[1]).toBe(200);
    expect([statuses[0], statuses[2]].sort()).toEqual([200, 409]);
    await Promise.all([a, b, c].map((response) => response.text()));
  });
});
