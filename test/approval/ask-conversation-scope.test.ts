import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createApprovalGate, DENIALS } from '../../src/approval/approval-gate.js';
import { AskBroker, fingerprintOf, type PendingAsk } from '../../src/asks/ask-broker.js';
import { createElicitationRelay } from '../../src/elicitation/elicitation-relay.js';
import type { ElicitationResult } from '../../src/mcp/elicitation-router.js';
import type { SessionBackend } from '../../src/session/session-backend.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import type { ChatEvent } from '../../src/types.js';
import { askStorages } from './ask-storages.js';

// Providers that leave out tool-call ids get `call_0`, `call_1`… in every turn
// (src/llm/openai-stream.ts), so two conversations of one user ask under the same id.

const { setups, keep } = await askStorages('ask scope on Redis');

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A turn's gate in `conversationId` that always asks, and a promise of its first `tool_approval`. */
function turnIn(storage: ChatStorage, userId: string, conversationId: string) {
  const broker = new AskBroker(storage.sessions, storage.bus);
  const gate = createApprovalGate({
    rule: 'always',
    trustedServers: new Set(),
    broker,
    store: storage.sessions,
    userId,
    conversationId,
    sessionVersion: 'v1',
    canAsk: true,
    timeoutMs: 5_000,
    rememberMs: 60_000,
    describeTool: () => ({ server: 'notes', annotations: {} }),
  });
  let asked!: () => void;
  const announced = new Promise<void>((resolve) => {
    asked = resolve;
  });
  const emit = (event: ChatEvent) => {
    if (event.type === 'tool_approval') asked();
  };
  return { check: (id: string) => gate.check({ id, name: 'delete_note', arguments: { id: 3 } }, { emit }), announced };
}

describe.each(setups)('asks scoped to their conversation (%s)', (_name, processes) => {
  it("approving a call in one conversation leaves another conversation's identical call waiting", async () => {
    const [a, b] = processes();
    const userId = `u-${randomUUID()}`;
    const answerer = new AskBroker(b.sessions, b.bus);
    const inA = turnIn(a, userId, 'trip');
    const inB = turnIn(a, userId, 'default');
    let verdictA: unknown = 'waiting';
    const waitingA = inA.check('call_0').then((verdict) => {
      verdictA = verdict;
      return verdict;
    });
    await inA.announced;
    const waitingB = inB.check('call_0');
    await inB.announced;

    expect(
      await answerer.answer(userId, 'approval', 'call_0', 'default', () => ({ decision: 'approve' })),
    ).not.toBeNull();
    expect(await waitingB).toEqual({ run: true });
    await pause(150);
    expect(verdictA).toBe('waiting');
    // Its own answer still finds it: the other conversation's answer did not take it.
    expect(await answerer.answer(userId, 'approval', 'call_0', 'trip', () => ({ decision: 'deny' }))).not.toBeNull();
    expect(await waitingA).toEqual({ run: false, reason: DENIALS.user });
  });

  it('an answer naming another conversation is a 404 that leaves the question to the right one', async () => {
    const [a, b] = processes();
    const userId = `u-${randomUUID()}`;
    const answerer = new AskBroker(b.sessions, b.bus);
    const inWork = turnIn(a, userId, 'work');
    const waiting = inWork.check('call_1');
    await inWork.announced;
    expect(await answerer.answer(userId, 'approval', 'call_1', 'trip', () => ({ decision: 'deny' }))).toBeNull();
    expect(await answerer.answer(userId, 'approval', 'call_1', 'default', () => ({ decision: 'deny' }))).toBeNull();
    // An approval's answer must name its conversation.
    expect(await answerer.answer(userId, 'approval', 'call_1', undefined, () => ({ decision: 'deny' }))).toBeNull();
    expect(await answerer.answer(userId, 'approval', 'call_1', 'work', () => ({ decision: 'approve' }))).not.toBeNull();
    expect(await waiting).toEqual({ run: true });
  });

  it("gives each elicitation its own id, so answering one conversation's request leaves the other's", async () => {
    const [a, b] = processes();
    const userId = `u-${randomUUID()}`;
    const answerer = new AskBroker(b.sessions, b.bus);
    const ids: string[] = [];
    const ask = (conversationId: string) => {
      const relay = createElicitationRelay({
        broker: new AskBroker(a.sessions, a.bus),
        userId,
        conversationId,
        canAsk: true,
        timeoutMs: 600,
      });
      let asked!: () => void;
      const announced = new Promise<void>((resolve) => {
        asked = resolve;
      });
      // The same server asking the same thing, with the same elicitationId, in two conversations.
      const result = relay.elicit(
        {
          server: 'bank',
          mode: 'url',
          message: 'Link your account',
          url: 'https://bank.example/link',
          elicitationId: 'e-1',
        },
        {
          emit: (event) => {
            if (event.type === 'elicitation') ids.push(event.id);
            asked();
          },
        },
      );
      return { result, announced };
    };
    const inTrip = ask('trip');
    await inTrip.announced;
    const inWork = ask('work');
    await inWork.announced;
    expect(ids).toHaveLength(2);
    expect(new Set([...ids, 'e-1']).size).toBe(3);
    const accept = (): ElicitationResult => ({ action: 'accept' });
    expect(await answerer.answer(userId, 'elicitation', ids[1] as string, undefined, accept)).not.toBeNull();
    expect(await inWork.result).toEqual({ action: 'accept' });
    // Nobody answered the other one: it waits to its end.
    expect(await inTrip.result).toEqual({ action: 'cancel' });
  });
});

describe('AskBroker.answer, checking before taking', () => {
  it('puts back, unanswered, a question that replaced the checked one under the same id', async () => {
    const storage = memoryStorage();
    keep(storage);
    const inner = storage.sessions;
    const pending: PendingAsk = {
      kind: 'approval',
      id: 'call_0',
      userId: 'ann',
      conversationId: 'default',
      fingerprint: fingerprintOf({ tool: 'delete_note', input: { id: 1 } }),
      expiresAt: Date.now() + 5_000,
    };
    const replacement = JSON.stringify({
      ...pending,
      fingerprint: fingerprintOf({ tool: 'delete_note', input: { id: 2 } }),
    });
    let askKey: string | undefined;
    // Between the answer's check (a `get`) and its take, the turn withdraws the question and asks another.
    const racing: SessionBackend = {
      ...inner,
      get: async (key) => {
        const raw = await inner.get(key);
        if (raw?.includes('"kind":"approval"') && askKey === undefined) {
          askKey = key;
          await inner.set(key, replacement, 5_000);
        }
        return raw;
      },
      set: (key, value, ttl) => inner.set(key, value, ttl),
      delete: (keys) => inner.delete(keys),
      getList: (key) => inner.getList(key),
      appendToList: (key, values, options) => inner.appendToList(key, values, options),
      take: (key) => (inner.take as NonNullable<SessionBackend['take']>)(key),
    };
    const turn = new AskBroker(inner, storage.bus);
    let asked!: () => void;
    const stored = new Promise<void>((resolve) => {
      asked = resolve;
    });
    const waiting = turn.ask(pending, { timeoutMs: 300, onAsked: asked });
    await stored;
    const answerer = new AskBroker(racing, storage.bus);
    expect(await answerer.answer('ann', 'approval', 'call_0', 'default', () => ({ decision: 'approve' }))).toBeNull();
    expect(askKey).toBeDefined();
    expect(await inner.get(askKey as string)).toBe(replacement);
    expect(await waiting).toBeNull();
  });
});
