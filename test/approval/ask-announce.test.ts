import { describe, expect, it } from 'vitest';
import { createApprovalGate } from '../../src/approval/approval-gate.js';
import { AskBroker } from '../../src/asks/ask-broker.js';
import { createElicitationRelay } from '../../src/elicitation/elicitation-relay.js';
import { memoryStorage } from '../../src/storage.js';
import type { ChatEvent } from '../../src/types.js';

// A client that answers the moment it sees the question (a script, an auto-approving agent, a
// fast second process) must find it: the event goes out only once the question is stored.
describe('a question is announced only once it can be answered', () => {
  it('tool_approval: an answer sent from the event handler itself is taken', async () => {
    const storage = memoryStorage();
    const answerSide = new AskBroker(storage.sessions, storage.bus);
    const gate = createApprovalGate({
      rule: 'always',
      trustedServers: new Set(),
      broker: new AskBroker(storage.sessions, storage.bus),
      store: storage.sessions,
      userId: 'ann',
      conversationId: 'default',
      sessionVersion: 'v1',
      canAsk: true,
      timeoutMs: 2_000,
      rememberMs: 60_000,
      describeTool: () => ({ server: 'notes', annotations: {} }),
    });
    const taken: Promise<unknown>[] = [];
    const emit = (event: ChatEvent) => {
      if (event.type !== 'tool_approval') return;
      taken.push(answerSide.answer('ann', 'approval', event.id, 'default', () => ({ decision: 'approve' })));
    };
    const verdict = await gate.check({ id: 'c1', name: 'delete_note', arguments: { id: 1 } }, { emit });
    expect(await Promise.all(taken)).toEqual([expect.objectContaining({ answer: { decision: 'approve' } })]);
    expect(verdict).toEqual({ run: true });
    await storage.close();
  });

  it('elicitation: an answer sent from the event handler itself is taken', async () => {
    const storage = memoryStorage();
    const answerSide = new AskBroker(storage.sessions, storage.bus);
    const relay = createElicitationRelay({
      broker: new AskBroker(storage.sessions, storage.bus),
      userId: 'ann',
      conversationId: 'default',
      canAsk: true,
      timeoutMs: 2_000,
    });
    const taken: Promise<unknown>[] = [];
    const emit = (event: ChatEvent) => {
      if (event.type !== 'elicitation') return;
      taken.push(answerSide.answer('ann', 'elicitation', event.id, undefined, () => ({ action: 'decline' })));
    };
    const result = await relay.elicit(
      { server: 's', mode: 'form', message: 'ok?', requestedSchema: undefined },
      { emit },
    );
    expect(await Promise.all(taken)).toEqual([expect.objectContaining({ answer: { action: 'decline' } })]);
    expect(result).toEqual({ action: 'decline' });
    await storage.close();
  });
});
