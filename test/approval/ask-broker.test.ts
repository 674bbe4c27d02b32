import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AskBroker, type AskBroker as Broker, fingerprintOf, type PendingAsk } from '../../src/asks/ask-broker.js';
import type { MessageBus } from '../../src/bus/message-bus.js';
import { isLlmChatError, LlmChatError } from '../../src/errors.js';
import type { SessionBackend, StoredValue } from '../../src/session/session-backend.js';
import { conversationKey } from '../../src/session/session-keys.js';
import { askStorages } from './ask-storages.js';

const { setups } = await askStorages('ask broker on Redis');

/** A bus that swallows every message: pub/sub is at most once, and answers must still arrive. */
function lossyBus(bus: MessageBus): MessageBus {
  return { publish: async () => {}, subscribe: (channel, listener) => bus.subscribe(channel, listener) };
}

const question = (overrides: Partial<PendingAsk> = {}): PendingAsk => ({
  kind: 'approval',
  id: `call_${randomUUID()}`,
  userId: `u-${randomUUID()}`,
  conversationId: 'default',
  fingerprint: fingerprintOf({ path: '/tmp/x' }),
  expiresAt: Date.now() + 10_000,
  ...overrides,
});

/** Waits until the question is stored (ask() stores it after subscribing). */
async function untilAsked(answerer: Broker, pending: PendingAsk, answer: unknown) {
  for (let i = 0; i < 100; i++) {
    const result = await answerer.answer(
      pending.userId,
      pending.kind,
      pending.id,
      pending.conversationId,
      () => answer,
    );
    if (result) return result;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the question never appeared');
}

describe.each(setups)('AskBroker (%s)', (_name, processes) => {
  it('delivers an answer posted on another process, once', async () => {
    const [a, b] = processes();
    const turn = new AskBroker(a.sessions, a.bus);
    const other = new AskBroker(b.sessions, b.bus);
    const pending = question();
    const waiting = turn.ask<{ decision: string }>(pending, { timeoutMs: 5_000 });
    const taken = await untilAsked(other, pending, { decision: 'approve' });
    expect(taken.pending.fingerprint).toBe(pending.fingerprint);
    expect(await waiting).toEqual({ decision: 'approve' });
    // Used once: a replay finds nothing.
    expect(
      await other.answer(pending.userId, 'approval', pending.id, 'default', () => ({ decision: 'deny' })),
    ).toBeNull();
  });

  it("refuses another user's, another conversation's or another kind's answer, leaking nothing", async () => {
    const [a, b] = processes();
    const turn = new AskBroker(a.sessions, a.bus);
    const other = new AskBroker(b.sessions, b.bus);
    const pending = question({ conversationId: 'trip', expiresAt: Date.now() + 1_000 });
    const waiting = turn.ask(pending, { timeoutMs: 600 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await other.answer('mallory', 'approval', pending.id, undefined, () => 'x')).toBeNull();
    expect(await other.answer(pending.userId, 'elicitation', pending.id, undefined, () => 'x')).toBeNull();
    expect(await other.answer(pending.userId, 'approval', pending.id, 'work', () => 'x')).toBeNull();
    // None of the refused attempts used the question up: the right answer still counts.
    expect(await other.answer(pending.userId, 'approval', pending.id, 'trip', () => 'yes')).not.toBeNull();
    expect(await waiting).toBe('yes');
  });

  it('gives up at its timeout, after which an answer is refused', async () => {
    const [a, b] = processes();
    const turn = new AskBroker(a.sessions, a.bus);
    const pending = question();
    expect(await turn.ask(pending, { timeoutMs: 150 })).toBeNull();
    const other = new AskBroker(b.sessions, b.bus);
    expect(await other.answer(pending.userId, 'approval', pending.id, 'default', () => 'late')).toBeNull();
  });

  it('stops waiting when the turn is stopped', async () => {
    const [a] = processes();
    const turn = new AskBroker(a.sessions, a.bus);
    const stop = new AbortController();
    const waiting = turn.ask(question(), { timeoutMs: 10_000, signal: stop.signal });
    setTimeout(() => stop.abort(), 50);
    const started = Date.now();
    expect(await waiting).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('keeps the question open when an answer is refused, for a corrected one', async () => {
    const [a, b] = processes();
    const turn = new AskBroker(a.sessions, a.bus);
    const other = new AskBroker(b.sessions, b.bus);
    const pending = question({ kind: 'elicitation' });
    let asked!: () => void;
    const stored = new Promise<void>((resolve) => {
      asked = resolve;
    });
    const waiting = turn.ask(pending, { timeoutMs: 5_000, onAsked: asked });
    await stored;
    const refused = other.answer(pending.userId, 'elicitation', pending.id, undefined, () => {
      throw new LlmChatError('VALIDATION_FAILED', 'content.age: expected a number');
    });
    await expect(refused).rejects.toSatisfy((error) => isLlmChatError(error) && error.code === 'VALIDATION_FAILED');
    expect(
      await other.answer(pending.userId, 'elicitation', pending.id, undefined, () => ({ action: 'accept' })),
    ).not.toBeNull();
    expect(await waiting).toEqual({ action: 'accept' });
  });

  it('leaves a question asked again in between in place: its own answer is taken meanwhile', async () => {
    const [a, b] = processes();
    const turn = new AskBroker(a.sessions, a.bus);
    const first = question();
    const stop = new AbortController();
    let asked!: () => void;
    const stored = new Promise<void>((resolve) => {
      asked = resolve;
    });
    const waiting = turn.ask(first, { timeoutMs: 5_000, signal: stop.signal, onAsked: asked });
    await stored;
    // The answering process's writes wait at a gate, so anything it puts back stays away meanwhile.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const gated = gatedWrites(b.sessions, gate);
    const again = { ...first, fingerprint: fingerprintOf({ path: '/tmp/other' }) };
    const key = conversationKey(first.userId, first.conversationId, `ask:approval:${encodeURIComponent(first.id)}`);
    const stale = new AskBroker(gated, b.bus).answer(first.userId, 'approval', first.id, 'default', () => {
      // Checked against the first question; the turn asks again under the same id right now.
      void b.sessions.set(key, JSON.stringify(again), 5_000);
      return { decision: 'approve' };
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const fresh = await new AskBroker(b.sessions, b.bus).answer(first.userId, 'approval', first.id, 'default', () => ({
      decision: 'deny',
    }));
    openGate();
    expect(await stale).toBeNull();
    expect(fresh?.pending.fingerprint).toBe(again.fingerprint);
    stop.abort();
    expect(await waiting).toBeNull();
  });

  it('delivers an answer whose reply the answering side lost (a timeout after the storage took it)', async () => {
    const [a, b] = processes();
    const turn = new AskBroker(a.sessions, a.bus);
    const pending = question();
    let asked!: () => void;
    const stored = new Promise<void>((resolve) => {
      asked = resolve;
    });
    const waiting = turn.ask(pending, { timeoutMs: 8_000, onAsked: asked });
    await stored;
    const lostReplies = lostReplyOfTake(b.sessions);
    const answering = new AskBroker(lostReplies, lossyBus(b.bus));
    const refused = answering.answer(pending.userId, 'approval', pending.id, 'default', () => ({
      decision: 'approve',
    }));
    await expect(refused).rejects.toSatisfy((error) => isLlmChatError(error) && error.code === 'BACKEND_UNAVAILABLE');
    // The question is gone (a retry is a 404), and yet the turn has its answer.
    expect(await answering.answer(pending.userId, 'approval', pending.id, 'default', () => ({}))).toBeNull();
    expect(await waiting).toEqual({ decision: 'approve' });
  });

  it('finds the answer in the storage when the bus message is lost', async () => {
    const [a, b] = processes();
    const turn = new AskBroker(a.sessions, a.bus);
    const other = new AskBroker(b.sessions, lossyBus(b.bus));
    const pending = question();
    const waiting = turn.ask(pending, { timeoutMs: 8_000 });
    await untilAsked(other, pending, { decision: 'deny' });
    expect(await waiting).toEqual({ decision: 'deny' });
  });
});

describe('fingerprintOf', () => {
  it('is the same for the same content in any key order, and differs for other content', () => {
    expect(fingerprintOf({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(fingerprintOf({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(fingerprintOf({ a: 1 })).not.toBe(fingerprintOf({ a: 2 }));
    expect(fingerprintOf({ a: [1, 2] })).not.toBe(fingerprintOf({ a: [2, 1] }));
  });
});

/** `backend` with every `set` held until `gate` opens (its other methods unchanged). */
function gatedWrites(backend: SessionBackend, gate: Promise<void>): SessionBackend {
  return {
    get: (key) => backend.get(key),
    set: async (key, value, ttlMs) => {
      await gate;
      await backend.set(key, value, ttlMs);
    },
    delete: (keys) => backend.delete(keys),
    getList: (key) => backend.getList(key),
    appendToList: (key, values, options) => backend.appendToList(key, values, options),
    ...(backend.take ? { take: (key: string) => backend.take?.(key) ?? Promise.resolve(null) } : {}),
    ...(backend.takeIfEqual
      ? {
          takeIfEqual: (key: string, expected: string, replacement?: StoredValue) =>
            backend.takeIfEqual?.(key, expected, replacement) ?? Promise.resolve(false),
        }
      : {}),
  };
}

/** `backend` whose compare-and-take works but whose reply is lost: it rejects after doing its work. */
function lostReplyOfTake(backend: SessionBackend): SessionBackend {
  const lost = () => new LlmChatError('BACKEND_UNAVAILABLE', 'The storage backend did not answer in time.');
  const wrapped = gatedWrites(backend, Promise.resolve());
  if (backend.takeIfEqual) {
    wrapped.takeIfEqual = async (key, expected, replacement) => {
      await backend.takeIfEqual?.(key, expected, replacement);
      throw lost();
    };
  }
  if (backend.take) {
    wrapped.take = async (key) => {
      await backend.take?.(key);
      throw lost();
    };
  }
  return wrapped;
}
