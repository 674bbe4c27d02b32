import { describe, expect, it } from 'vitest';
import { createApprovalGate, DENIALS } from '../../src/approval/approval-gate.js';
import type { ToolApprovalRule } from '../../src/approval/approval-policy.js';
import { AskBroker } from '../../src/asks/ask-broker.js';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { memoryStorage } from '../../src/storage.js';
import type { ChatEvent, ToolApprovalEvent } from '../../src/types.js';
import { call, finish, functionTools, ok, scriptedProvider, text } from '../chat/scripted.js';

const annotations: Record<string, { destructiveHint?: boolean; readOnlyHint?: boolean }> = {
  delete_note: { destructiveHint: true },
  search_notes: { readOnlyHint: true },
};

function setup(options: { rule?: ToolApprovalRule; canAsk?: boolean; timeoutMs?: number } = {}) {
  const storage = memoryStorage();
  const turnSide = new AskBroker(storage.sessions, storage.bus);
  // The answering side: another AskBroker, as another process would have.
  const answerSide = new AskBroker(storage.sessions, storage.bus);
  const tools = functionTools({
    delete_note: async (args) => ok(`deleted ${String(args.id)}`),
    search_notes: async () => ok('3 notes'),
  });
  const gate = (conversationId = 'default') =>
    createApprovalGate({
      rule: options.rule ?? 'annotations',
      trustedServers: new Set(['notes']),
      broker: turnSide,
      store: storage.sessions,
      userId: 'ann',
      conversationId,
      sessionVersion: 'v1',
      canAsk: options.canAsk ?? true,
      timeoutMs: options.timeoutMs ?? 5_000,
      rememberMs: 60_000,
      describeTool: (name) => ({ server: 'notes', annotations: annotations[name] ?? {} }),
    });
  return { storage, answerSide, tools, gate };
}

/** Runs a turn, answering each `tool_approval` with `answer(event)` as the events arrive. */
async function runTurn(
  service: ChatService,
  toolGate: ReturnType<ReturnType<typeof setup>['gate']>,
  answer: (event: ToolApprovalEvent) => Promise<unknown>,
) {
  const events: ChatEvent[] = [];
  const answers: Promise<unknown>[] = [];
  for await (const event of service.chat('tidy my notes', { history: arrayHistory(), toolGate })) {
    events.push(event);
    if (event.type === 'tool_approval') answers.push(answer(event));
  }
  await Promise.all(answers);
  return events;
}

describe('tool approval in the chat loop', () => {
  it('asks for the call that needs it, runs the approved one with the allowed one, and shows the model a denial', async () => {
    const { answerSide, tools, gate } = setup();
    const provider = scriptedProvider([
      [call('c1', 'delete_note', { id: 7 }), call('c2', 'search_notes', { q: 'x' }), finish('tool_calls')],
      [text('Done.'), finish()],
      [call('c3', 'delete_note', { id: 8 }), finish('tool_calls')],
      [text('Not deleted.'), finish()],
    ]);
    const service = new ChatService({ provider, model: 'm', tools });
    const approve = (event: ToolApprovalEvent) =>
      answerSide.answer('ann', 'approval', event.id, 'default', () => ({ decision: 'approve' }));
    const first = await runTurn(service, gate(), approve);
    const approval = first.find((e) => e.type === 'tool_approval') as ToolApprovalEvent;
    expect(approval).toMatchObject({
      id: 'c1',
      tool: 'delete_note',
      input: { id: 7 },
      annotations: { destructiveHint: true },
    });
    expect(Date.parse(approval.expires_at)).toBeGreaterThan(Date.now());
    expect(tools.calls.map((c) => c.name).sort()).toEqual(['delete_note', 'search_notes']);
    expect(
      first
        .filter((e) => e.type === 'tool_end')
        .map((e) => (e as { id: string }).id)
        .sort(),
    ).toEqual(['c1', 'c2']);

    const deny = (event: ToolApprovalEvent) =>
      answerSide.answer('ann', 'approval', event.id, 'default', () => ({ decision: 'deny', reason: 'keep it' }));
    const second = await runTurn(service, gate(), deny);
    expect(tools.calls).toHaveLength(2); // the denied call never ran
    expect(second.find((e) => e.type === 'tool_error')).toMatchObject({
      id: 'c3',
      error: `${DENIALS.user} The user said: keep it`,
    });
    const toModel = JSON.stringify(provider.requests.at(-1)?.messages.at(-1));
    expect(toModel).toContain('The user denied this tool call');
  });

  it('denies at the timeout, denies at once when the turn cannot ask, and obeys a per-argument rule', async () => {
    const slow = setup({ timeoutMs: 100 });
    const provider = scriptedProvider([
      [call('t1', 'delete_note', { id: 1 }), finish('tool_calls')],
      [text('ok'), finish()],
    ]);
    const events = await runTurn(
      new ChatService({ provider, model: 'm', tools: slow.tools }),
      slow.gate(),
      async () => {},
    );
    expect(events.find((e) => e.type === 'tool_error')).toMatchObject({ error: DENIALS.timeout });
    expect(slow.tools.calls).toHaveLength(0);

    const quiet = setup({ canAsk: false });
    const provider2 = scriptedProvider([
      [call('n1', 'delete_note', { id: 1 }), finish('tool_calls')],
      [text('ok'), finish()],
    ]);
    const result = await new ChatService({ provider: provider2, model: 'm', tools: quiet.tools }).complete('x', {
      toolGate: quiet.gate(),
    });
    expect(result.tool_invocations.find((e) => e.type === 'tool_error')).toMatchObject({ error: DENIALS.cannotAsk });
    expect(quiet.tools.calls).toHaveLength(0);

    const byArgument = setup({ rule: (c) => (c.tool === 'delete_note' && c.input.id === 1 ? 'deny' : 'allow') });
    const provider3 = scriptedProvider([
      [call('a', 'delete_note', { id: 1 }), call('b', 'delete_note', { id: 2 }), finish('tool_calls')],
      [text('ok'), finish()],
    ]);
    const ran = await runTurn(
      new ChatService({ provider: provider3, model: 'm', tools: byArgument.tools }),
      byArgument.gate(),
      async () => {},
    );
    expect(byArgument.tools.calls.map((c) => c.args.id)).toEqual([2]);
    expect(ran.find((e) => e.type === 'tool_error')).toMatchObject({ id: 'a', error: DENIALS.policy });
  });

  it('remembers "approve for the rest of the conversation" in that conversation only', async () => {
    const { answerSide, tools, gate } = setup({ rule: 'always' });
    const provider = scriptedProvider([
      [call('r1', 'search_notes'), finish('tool_calls')],
      [text('a'), finish()],
      [call('r2', 'search_notes'), finish('tool_calls')],
      [text('b'), finish()],
      [call('r3', 'search_notes'), finish('tool_calls')],
      [text('c'), finish()],
    ]);
    const service = new ChatService({ provider, model: 'm', tools });
    let asked = 0;
    // An approval's answer names its conversation, as `POST /approve` does.
    const remember = (conversationId: string) => (event: ToolApprovalEvent) => {
      asked++;
      return answerSide.answer('ann', 'approval', event.id, conversationId, () => ({
        decision: 'approve',
        scope: 'conversation',
      }));
    };
    await runTurn(service, gate('trip'), remember('trip'));
    await runTurn(service, gate('trip'), remember('trip'));
    expect(asked).toBe(1);
    await runTurn(service, gate('work'), remember('work'));
    expect(asked).toBe(2);
    expect(tools.calls).toHaveLength(3);
  });

  it('stops waiting when the turn is stopped, and the question is withdrawn', async () => {
    const { answerSide, tools, gate } = setup();
    const provider = scriptedProvider([[call('s1', 'delete_note', { id: 1 }), finish('tool_calls')]]);
    const service = new ChatService({ provider, model: 'm', tools });
    const stop = new AbortController();
    const events: ChatEvent[] = [];
    let asked: ToolApprovalEvent | undefined;
    for await (const event of service.chat('x', { history: arrayHistory(), toolGate: gate(), signal: stop.signal })) {
      events.push(event);
      if (event.type === 'tool_approval') {
        asked = event;
        setTimeout(() => stop.abort(), 20);
      }
    }
    expect(events.at(-1)?.type).toBe('error');
    expect(tools.calls).toHaveLength(0);
    expect(
      await answerSide.answer('ann', 'approval', asked?.id ?? '', 'default', () => ({ decision: 'approve' })),
    ).toBeNull();
  });
});
