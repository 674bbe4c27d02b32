import { describe, expect, it, vi } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { CONTINUE_INSTRUCTION, continueAnswerMessages, joinAtSeam } from '../../src/chat/continue-answer.js';
import { isLlmChatError } from '../../src/errors.js';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import { rebuildTurn } from '../../src/turns/rebuild-turn.js';
import { RunningTurn } from '../../src/turns/running-turn.js';
import { type RecordedEvent, TurnLog } from '../../src/turns/turn-log.js';
import type { ChatEvent, FinalEvent, TranscriptMessage } from '../../src/types.js';
import { finish, functionTools, ok, scriptedProvider, text } from '../chat/scripted.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';

// The pieces of a takeover after a crash, without processes: rebuilding a turn from its events,
// asking the model to continue, resuming the loop, and a fenced-out owner stopping.

let seq = 0;
const event = (name: string, data: Record<string, unknown>): RecordedEvent => ({ seq: ++seq, event: name, data });
const token = (content: string) => event('token', { content });
const start = (id: string, tool: string, input: Record<string, unknown> = {}) =>
  event('tool_start', { type: 'tool_start', id, tool, input, start: '2026-01-01T00:00:00Z' });
const end = (id: string, tool: string, output: unknown) =>
  event('tool_end', { type: 'tool_end', id, tool, output, end: '2026-01-01T00:00:01Z' });

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const events: T[] = [];
  for await (const item of iterable) events.push(item);
  return events;
}

describe('rebuildTurn', () => {
  it('rebuilds rounds, results and the calls cut off mid-way', () => {
    const rebuilt = rebuildTurn('sum and wait', [
      token('Let me '),
      token('look.'),
      start('c1', 'add', { a: 2, b: 3 }),
      start('c2', 'slow', { ms: 10 }),
      end('c1', 'add', '5'),
    ]);
    expect(rebuilt.messages).toEqual([
      { role: 'user', content: 'sum and wait' },
      {
        role: 'assistant',
        content: 'Let me look.',
        toolCalls: [
          { id: 'c1', name: 'add', arguments: { a: 2, b: 3 } },
          { id: 'c2', name: 'slow', arguments: { ms: 10 } },
        ],
      },
      { role: 'tool', toolCallId: 'c1', name: 'add', content: '5' },
    ]);
    expect(rebuilt.cutCalls).toEqual([{ id: 'c2', name: 'slow', arguments: { ms: 10 } }]);
    expect(rebuilt.text).toBe('Let me look.');
    expect(rebuilt.tools).toEqual(['add', 'slow']);
  });

  it('opens a new answer after results, keeps structured output as JSON and errors as errors', () => {
    const rebuilt = rebuildTurn('go', [
      start('c1', 'structured'),
      end('c1', 'structured', { city: 'Oslo' }),
      start('c2', 'fail'),
      event('tool_error', { type: 'tool_error', id: 'c2', tool: 'fail', error: 'broken', time: 'x' }),
      token('Half an ans'),
    ]);
    expect(rebuilt.messages.map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
      'tool',
      'assistant',
    ]);
    expect(rebuilt.messages[2]).toMatchObject({ content: '{"city":"Oslo"}' });
    expect(rebuilt.messages[4]).toMatchObject({ content: 'broken', isError: true });
    expect(rebuilt.messages.at(-1)).toEqual({ role: 'assistant', content: 'Half an ans' });
    expect(rebuilt.cutCalls).toEqual([]);
  });

  it("puts each round's recorded reasoning on the answer it goes with", () => {
    const thought = (content: string) => event('reasoning', { content });
    const rebuilt = rebuildTurn('go', [
      thought('First '),
      thought('plan.'),
      start('c1', 'add'),
      end('c1', 'add', '5'),
      thought('Second plan.'),
      start('c2', 'add'),
      end('c2', 'add', '6'),
      token('Done'),
      thought(' (late)'),
    ]);
    const answers = rebuilt.messages.filter((message) => message.role === 'assistant');
    // The answer without tool calls keeps none, as a turn not taken over would.
    expect(answers.map((answer) => (answer.role === 'assistant' ? answer.reasoning : null))).toEqual([
      'First plan.',
      'Second plan.',
      undefined,
    ]);
    expect(rebuilt.text).toBe('Done');
  });

  it('refuses tool events without an id or a tool name as EVENT_LOG_INVALID', () => {
    let caught: unknown;
    try {
      rebuildTurn('x', [event('tool_start', { tool: 'add' })]);
    } catch (error) {
      caught = error;
    }
    expect(isLlmChatError(caught) && caught.code).toBe('EVENT_LOG_INVALID');
  });
});

describe('continuing a cut-off answer', () => {
  const cut: TranscriptMessage[] = [
    { role: 'user', content: 'tell me' },
    { role: 'assistant', content: 'Once upon a ' },
  ];

  it('prefills Anthropic with the answer (trailing space trimmed) and tells other APIs to continue', () => {
    expect(continueAnswerMessages('anthropic', cut)).toEqual([cut[0], { role: 'assistant', content: 'Once upon a' }]);
    expect(continueAnswerMessages('openai', cut)).toEqual([...cut, { role: 'user', content: CONTINUE_INSTRUCTION }]);
    // Nothing to continue: the messages are left as they are.
    const afterTool: TranscriptMessage[] = [{ role: 'user', content: 'x' }];
    expect(continueAnswerMessages('openai', afterTool)).toEqual(afterTool);
  });

  it('joins the seam without doubling the space', () => {
    expect(joinAtSeam('Once upon a ', ' time')).toBe('time');
    expect(joinAtSeam('Once upon a', ' time')).toBe(' time');
  });

  it('ChatService.resume continues the answer in place: final and history hold it once', async () => {
    const provider = scriptedProvider([[text(' time.'), finish()]]);
    const history = arrayHistory();
    const service = new ChatService({ provider, model: 'm', tools: functionTools({}) });
    const events = await collect(service.resume({ messages: cut }, { history }));
    expect(events.map((e) => e.type)).toEqual(['token', 'final']);
    expect(events[0]).toEqual({ type: 'token', content: 'time.' });
    expect((events[1] as FinalEvent).content).toBe('Once upon a time.');
    expect(provider.requests[0]?.messages.at(-1)).toEqual({ role: 'user', content: CONTINUE_INSTRUCTION });
    expect(history.messages).toEqual([cut[0], { role: 'assistant', content: 'Once upon a time.' }]);
  });

  it('ChatService.resume over the Anthropic API: the cut answer is the prefill, and the API accepts it', async () => {
    const fake = await startFakeAnthropic({ reply: { kind: 'text', chunks: [' time', ' there was.'] } });
    try {
      const provider = new AnthropicProvider({ baseUrl: fake.url, apiKey: 'sk-ant-test' });
      const service = new ChatService({ provider, model: 'claude-test', tools: functionTools({}) });
      const events = await collect(service.resume({ messages: cut }));
      expect((events.at(-1) as FinalEvent).content).toBe('Once upon a time there was.');
      const sent = fake.requests[0]?.body.messages;
      expect(sent.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
      expect(JSON.stringify(sent[1].content)).toContain('Once upon a"');
    } finally {
      await fake.close();
    }
  });

  it('ChatService.resume repeats the given calls without a second tool_start, then asks the model', async () => {
    const provider = scriptedProvider([[text('5 it is'), finish()]]);
    const tools = functionTools({ add: async () => ok('5') });
    const service = new ChatService({ provider, model: 'm', tools });
    const calls = [{ id: 'c1', name: 'add', arguments: { a: 2, b: 3 } }];
    const events = await collect(
      service.resume({
        messages: [
          { role: 'user', content: 'add' },
          { role: 'assistant', content: '', toolCalls: calls },
        ],
        rerun: calls,
      }),
    );
    expect(events.map((e) => e.type)).toEqual(['tool_end', 'token', 'final']);
    expect(tools.calls).toHaveLength(1);
    expect(provider.requests[0]?.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect((events.at(-1) as FinalEvent).tools).toEqual(['add']);
  });
});

describe('a fenced-out owner', () => {
  it('stops once another process claimed its turn: nothing more is written, its readers end', async () => {
    const log = new TurnLog(new MemoryTurnBackend());
    const ref = { userId: 'u', turnId: TurnLog.newTurnId() };
    const turn = new RunningTurn({ ref, log, runningTtlMs: 10_000, epoch: 1 });
    let claimed: () => void = () => {};
    const claim = new Promise<void>((resolve) => {
      claimed = resolve;
    });
    const running = turn.run(
      (async function* (): AsyncGenerator<ChatEvent> {
        yield { type: 'token', content: 'before ' };
        await claim;
        yield { type: 'token', content: 'after ' };
        yield { type: 'final', content: 'before after ', tool_used: false, tools: [], elapsed_ms: 1 };
      })(),
    );
    const reader = collect(turn.events(0) as AsyncIterable<RecordedEvent>);
    await vi.waitFor(async () => expect(await log.read(ref, 0)).toHaveLength(1));
    expect(await log.claim(ref, 10_000)).toBe(2);
    claimed();
    await running;
    expect(turn.signal.aborted).toBe(true);
    expect(isLlmChatError(turn.signal.reason) && turn.signal.reason.code).toBe('LOCK_LOST');
    expect((await log.read(ref, 0)).map((recorded) => recorded.data.content)).toEqual(['before ']);
    // The local reader ends without the fenced-out owner's `final` (it resumes from the log).
    // It may have seen the one batch that was refused: readers here get events before they are stored.
    const seen = await reader;
    expect(seen.map((recorded) => recorded.event)).not.toContain('final');
    expect(seen[0]?.data.content).toBe('before ');
  });
});
