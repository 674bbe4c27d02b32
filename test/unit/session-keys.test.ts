import { describe, expect, it } from 'vitest';
import { RedisLockBackend } from '../../src/redis/redis-lock-backend.js';
import {
  conversationKey,
  historyKey,
  seenKey,
  sessionKey,
  sessionKeys,
  turnLockKey,
  userHashTag,
} from '../../src/session/session-keys.js';
import { redisKeySlot } from '../fixtures/redis-key-slot.js';

// A backend is never contacted by redisKey(); any object stands in for the client.
const lockBackend = new RedisLockBackend({} as never, { keyPrefix: 'app:' });

describe('session key layout', () => {
  it('puts every key of one user, the turn lock included, in one Redis Cluster slot', () => {
    for (const user of ['alice', 'bob@example.com', 'a}b{c', '{u:alice}', 'ünï:cødé', '']) {
      const keys = [
        ...Object.values(sessionKeys(user)),
        conversationKey(user, 'conv-1', 'events'),
        conversationKey(user, '}{', 'events'),
      ].map((key) => `app:${key}`);
      keys.push(lockBackend.redisKey(turnLockKey(user)));
      const slots = new Set(keys.map(redisKeySlot));
      expect(slots.size, `${user}: ${keys.join(', ')}`).toBe(1);
      expect(redisKeySlot(`x${userHashTag(user)}`)).toBe([...slots][0]);
    }
  });

  it('keeps users apart: no user id can name another user’s tag', () => {
    expect(userHashTag('a}b')).not.toBe(userHashTag('a'));
    expect(userHashTag('{u:alice}')).toBe('{u:%7Bu%3Aalice%7D}');
    expect(sessionKey('alice')).toBe('{u:alice}:session');
    expect(historyKey('alice')).toBe('{u:alice}:history');
    expect(seenKey('alice')).toBe('{u:alice}:seen');
    expect(turnLockKey('alice')).toBe('{u:alice}:turn');
    expect(conversationKey('alice', 'c:1', 'events')).toBe('{u:alice}:c:c%3A1:events');
  });

  it('gives a lock key without a hash tag a tag of its own, in the lock namespace', () => {
    expect(lockBackend.redisKey('plain')).toBe('app:lock:{plain}');
    expect(lockBackend.redisKey('a{}b')).toBe('app:lock:{a%7B%7Db}');
    expect(lockBackend.redisKey(turnLockKey('alice'))).toBe('app:lock:{u:alice}:turn');
  });
});
