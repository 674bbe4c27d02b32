import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConversationBackend } from '../../src/conversations/conversation-backend.js';
import { Conversations } from '../../src/conversations/conversations.js';
import { MemoryConversationBackend } from '../../src/conversations/memory-conversation-backend.js';
import { REMOVE_CONVERSATION } from '../../src/redis/conversation-scripts.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { MemorySessionBackend } from '../../src/session/memory-session-backend.js';
import type { SessionBackend } from '../../src/session/session-backend.js';
import { SessionStore } from '../../src/session/session-store.js';
import type { TranscriptMessage } from '../../src/types.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';

// Deleting a conversation while one of its turns is saved: whichever lands first, the history
// and the list entry end up together (both gone, or both holding only the new turn). One after
// the other, a turn saved between them kept a history with no entry, and its next turn started
// the entry over ("turns: 1", the title of a later message).

const PREFIX = `llmchat-test:${randomUUID()}:`;
const available = await requireRedis('conversation delete race on Redis');
const clients: Redis[] = [];
const HOUR = 3_600_000;

afterAll(async () => {
  if (clients[0]) await deletePrefix(clients[0], PREFIX);
  await Promise.all(clients.map((client) => client.quit()));
});

const turnOf = (question: string): TranscriptMessage[] => [
  { role: 'user', content: question },
  { role: 'assistant', content: `re: ${question}` },
];

/** A gate the test opens: `wait()` resolves once `open()` is called. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait: () => opened, open };
}

/** Lets pending storage calls (a few event-loop turns, a Redis round trip) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/**
 * Runs the reviewer's race: one turn saved, a delete held at `hold`, a second turn saved while
 * it is held, then the delete let go; then a third turn. Returns what the list and the history say.
 */
async function race(conversations: Conversations, held: ReturnType<typeof gate>, user: string) {
  await conversations.history(user, 'trip').append(turnOf('one'));
  const deleting = conversations.delete(user, 'trip');
  await settle();
  const second = conversations.history(user, 'trip').append(turnOf('two'));
  await settle();
  held.open();
  await Promise.all([deleting, second]);
  const afterDelete = {
    listed: (await conversations.list(user, { limit: 10 })).conversations,
    history: (await conversations.page(user, 'trip', { limit: 10 })).messages.map((message) => message.content),
  };
  await conversations.history(user, 'trip').append(turnOf('three'));
  const listed = (await conversations.list(user, { limit: 10 })).conversations;
  const history = (await conversations.page(user, 'trip', { limit: 10 })).messages;
  return { afterDelete, listed, history };
}

/** The history and the entry agree: as many turns as the history holds, titled by its first. */
function expectConsistent(outcome: Awaited<ReturnType<typeof race>>): void {
  const { afterDelete, listed, history } = outcome;
  // Right after the delete: both gone, or both holding the second turn alone.
  if (afterDelete.history.length === 0) expect(afterDelete.listed).toEqual([]);
  else {
    expect(afterDelete.history).toEqual(['two', 're: two']);
    expect(afterDelete.listed).toMatchObject([{ conversationId: 'trip', title: 'two', turns: 1 }]);
  }
  const userMessages = history.filter((message) => message.role === 'user').map((message) => message.content);
  expect(listed).toMatchObject([{ conversationId: 'trip', title: userMessages[0], turns: userMessages.length }]);
}

describe('deleting a conversation while a turn of it is saved', () => {
  it('keeps history and entry together when the history delete answers late (memory)', async () => {
    // The session backend applies the delete at once, as the memory one does, but its answer
    // comes only when the test opens the gate: the old code removed the entry after it.
    const held = gate();
    const sessions = new MemorySessionBackend();
    const slow: SessionBackend = {
      get: (key) => sessions.get(key),
      set: (key, value, ttlMs) => sessions.set(key, value, ttlMs),
      getList: (key) => sessions.getList(key),
      appendToList: (key, values, options) => sessions.appendToList(key, values, options),
      delete: async (keys) => {
        const deleted = await sessions.delete(keys);
        await held.wait();
        return deleted;
      },
    };
    const conversations = new Conversations(new SessionStore(slow), new MemoryConversationBackend(), {
      historyTtlMs: HOUR,
    });
    expectConsistent(await race(conversations, held, `u-${randomUUID()}`));
  });

  it('keeps history and entry together when the entry removal is slow (the review probe)', async () => {
    const held = gate();
    const index = new MemoryConversationBackend();
    const slowIndex: ConversationBackend = {
      recordTurn: (...args) => index.recordTurn(...args),
      get: (...args) => index.get(...args),
      list: (...args) => index.list(...args),
      remove: async (userId, conversationId) => {
        await held.wait();
        return index.remove(userId, conversationId);
      },
    };
    const conversations = new Conversations(new SessionStore(new MemorySessionBackend()), slowIndex, {
      historyTtlMs: HOUR,
    });
    expectConsistent(await race(conversations, held, `u-${randomUUID()}`));
  });

  it.skipIf(!available)('keeps history and entry together on Redis, the removal held on the wire', async () => {
    const held = gate();
    const client = new Redis(REDIS_URL);
    clients.push(client);
    // Holds the entry's removal script until the gate opens, as a slow network would.
    const evalsha = client.evalsha.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> }).evalsha = async (...args) => {
      if (args[0] === REMOVE_CONVERSATION.sha) await held.wait();
      return evalsha(...args);
    };
    const storage = redisStorage(client, { keyPrefix: PREFIX });
    const conversations = new Conversations(new SessionStore(storage.sessions), storage.conversations!, {
      historyTtlMs: HOUR,
    });
    expectConsistent(await race(conversations, held, `u-${randomUUID()}`));
  });
});
