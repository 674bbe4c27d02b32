import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConversationBackend } from '../../src/conversations/conversation-backend.js';
import { DEFAULT_CONVERSATION_ID } from '../../src/conversations/conversation-id.js';
import { Conversations } from '../../src/conversations/conversations.js';
import { MemoryConversationBackend } from '../../src/conversations/memory-conversation-backend.js';
import { ERROR_HTTP_STATUS, toHttpError } from '../../src/errors.js';
import type { ChatHandlerOptions } from '../../src/http/chat-handler-options.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { HANDLER_DEFAULTS, resolveHandlerSettings } from '../../src/http/handler-settings.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { MemorySessionBackend } from '../../src/session/memory-session-backend.js';
import { SessionStore } from '../../src/session/session-store.js';
import type { TranscriptMessage } from '../../src/types.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

// A cap on how many conversations one user keeps: a first turn in one more is refused with
// CONVERSATION_LIMIT before anything is stored; existing ones (and the default one) go on.

const PREFIX = `llmchat-test:${randomUUID()}:`;
const available = await requireRedis('conversation limit on Redis');
const redis = available ? new Redis(REDIS_URL) : undefined;
const HOUR = 3_600_000;

afterAll(async () => {
  if (redis) {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  }
});

const turnOf = (question: string): TranscriptMessage[] => [
  { role: 'user', content: question },
  { role: 'assistant', content: 'ok' },
];

interface Setup {
  store: SessionStore;
  index: ConversationBackend;
}

const setups: Array<[string, () => Setup]> = [
  ['memory', () => ({ store: new SessionStore(new MemorySessionBackend()), index: new MemoryConversationBackend() })],
  [
    // A backend written before the cap (no `admits`): counted through `get` and `list`.
    'memory, without admits',
    () => {
      const index = new MemoryConversationBackend();
      const plain: ConversationBackend = {
        recordTurn: (...args) => index.recordTurn(...args),
        get: (...args) => index.get(...args),
        list: (...args) => index.list(...args),
        remove: (userId, conversationId) => index.remove(userId, conversationId),
      };
      return { store: new SessionStore(new MemorySessionBackend()), index: plain };
    },
  ],
];
if (redis) {
  setups.push([
    'redis',
    () => {
      const storage = redisStorage(redis, { keyPrefix: PREFIX });
      return { store: new SessionStore(storage.sessions), index: storage.conversations! };
    },
  ]);
}

describe.each(setups)('Conversations.admit (%s)', (_name, setUp) => {
  it('refuses a first turn past maxConversations, and lets existing and default conversations go on', async () => {
    const { store, index } = setUp();
    const conversations = new Conversations(store, index, { historyTtlMs: HOUR, maxConversations: 2 });
    const user = `u-${randomUUID()}`;
    for (const id of ['a', 'b', DEFAULT_CONVERSATION_ID]) {
      await conversations.admit(user, id);
      await conversations.history(user, id).append(turnOf(id));
    }
    await expect(conversations.admit(user, 'c')).rejects.toMatchObject({
      code: 'CONVERSATION_LIMIT',
      message: 'Too many conversations; delete one to start another.',
    });
    // With its history already read for the turn, an existing one costs no look-up at all.
    await conversations.admit(user, 'a', store.getHistory(user, 'a'));
    await conversations.admit(user, 'b');
    await conversations.admit(user, DEFAULT_CONVERSATION_ID);
    // An empty history read for the turn is a new conversation: refused too.
    await expect(conversations.admit(user, 'c', Promise.resolve([]))).rejects.toMatchObject({
      code: 'CONVERSATION_LIMIT',
    });
    await conversations.delete(user, 'a');
    await conversations.admit(user, 'c');
  });
});

describe('the conversation cap', () => {
  it('asks the index nothing for a conversation whose history the turn already read', async () => {
    const index = new MemoryConversationBackend();
    let asked = 0;
    const counting: ConversationBackend = {
      recordTurn: (...args) => index.recordTurn(...args),
      get: (...args) => index.get(...args),
      list: (...args) => index.list(...args),
      remove: (userId, conversationId) => index.remove(userId, conversationId),
      admits: (...args) => {
        asked++;
        return index.admits(...args);
      },
    };
    const store = new SessionStore(new MemorySessionBackend());
    const conversations = new Conversations(store, counting, { historyTtlMs: HOUR, maxConversations: 1 });
    await conversations.history('ann', 'trip').append(turnOf('trip'));
    await conversations.admit('ann', 'trip', store.getHistory('ann', 'trip'));
    expect(asked).toBe(0);
    await expect(conversations.admit('ann', 'bike', store.getHistory('ann', 'bike'))).rejects.toMatchObject({
      code: 'CONVERSATION_LIMIT',
    });
    expect(asked).toBe(1);
  });

  it('does not count expired conversations', async () => {
    let now = 1_000_000;
    const store = new SessionStore(new MemorySessionBackend());
    const conversations = new Conversations(store, new MemoryConversationBackend(() => now), {
      historyTtlMs: HOUR,
      maxConversations: 1,
      now: () => now,
    });
    await conversations.history('ann', 'old').append(turnOf('old'));
    await expect(conversations.admit('ann', 'new')).rejects.toMatchObject({ code: 'CONVERSATION_LIMIT' });
    now += HOUR + 1;
    await conversations.admit('ann', 'new');
  });

  it('is a 409 with a stable code', () => {
    expect(ERROR_HTTP_STATUS.CONVERSATION_LIMIT).toBe(409);
    const conversations = new Conversations(
      new SessionStore(new MemorySessionBackend()),
      new MemoryConversationBackend(),
      {
        historyTtlMs: HOUR,
        maxConversations: 1,
      },
    );
    return conversations
      .history('ann', 'a')
      .append(turnOf('a'))
      .then(() => conversations.admit('ann', 'b'))
      .then(
        () => expect.fail('refused'),
        (error: unknown) =>
          expect(toHttpError(error)).toEqual({
            status: 409,
            body: { code: 'CONVERSATION_LIMIT', detail: 'Too many conversations; delete one to start another.' },
          }),
      );
  });

  it('is the host option maxConversations: 1000 by default, Infinity allowed, junk refused', () => {
    const base = { authenticate: async () => ({ id: 'ann' }), models: [] } as unknown as ChatHandlerOptions;
    expect(HANDLER_DEFAULTS.maxConversations).toBe(1000);
    expect(resolveHandlerSettings(base).maxConversations).toBe(1000);
    expect(resolveHandlerSettings({ ...base, maxConversations: 5 }).maxConversations).toBe(5);
    expect(resolveHandlerSettings({ ...base, maxConversations: Number.POSITIVE_INFINITY }).maxConversations).toBe(
      Number.POSITIVE_INFINITY,
    );
    for (const junk of [0, -1, 1.5, Number.NaN, '10']) {
      expect(() => createChatHandler({ ...base, maxConversations: junk as number }), String(junk)).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('maxConversations') }),
      );
    }
    for (const junk of [0, 2.5, '3']) {
      expect(
        () =>
          new Conversations(new SessionStore(new MemorySessionBackend()), new MemoryConversationBackend(), {
            historyTtlMs: HOUR,
            maxConversations: junk as number,
          }),
      ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});
