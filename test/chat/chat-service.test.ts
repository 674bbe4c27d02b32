import { describe, expect, it } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { LlmChatError } from '../../src/errors.js';
import type { LlmProvider, LlmStreamEvent } from '../../src/llm/llm-provider.js';
import type { ChatEvent, FinalEvent } from '../../src/types.js';
import { call, finish, functionTools, ok, scriptedProvider, text } from './scripted.js';

async function collect(iterable: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

const add = async (args: Record<string, unknown>) => ok(String(Number(args.a) + Number(args.b)));
const service = (provider: ReturnType<typeof scriptedProvider>) =>
  new ChatService({ provider, model: 'm', tools: functionTools({ add }) });

describe('ChatService', () => {
  it('streams text and ends with one final carrying the whole answer and usage', async () => {
    const provider = scriptedProvider([
      [text('Hel'), text('lo'), { type: 'usage', usage: { inputTokens: 10, outputTokens: 2 } }, finish()],
    ]);
    const service = new ChatService({ provider, model: 'm', tools: functionTools({}) });
    const events = await collect(service.chat('hi'));
    expect(events.map((e) => e.type)).toEqual(['token', 'token', 'final']);
    const final = events.at(-1) as FinalEvent;
    expect(final.content).toBe('Hello');
    expect(final.tool_used).toBe(false);
    expect(final.tools).toEqual([]);
    expect(final.usage).toEqual({ input_tokens: 10, output_tokens: 2 });
    expect(final.elapsed_ms).toBeGreaterThanOrEqual(0);
  });

  it('runs a step’s tool calls in parallel, feeds results back, and sums usage over calls', async () => {
    const provider = scriptedProvider([
      [
        call('c1', 'add', { a: 2, b: 3 }),
        call('c2', 'slow'),
        { type: 'usage', usage: { inputTokens: 5, outputTokens: 1 } },
        finish('tool_calls'),
      ],
      [text('Done: 5'), { type: 'usage', usage: { inputTokens: 7, outputTokens: 3 } }, finish()],
    ]);
    let slowStartedWhileAddRunning = false;
    let addRunning = false;
    const tools = functionTools({
      add: async (args) => {
        addRunning = true;
        await new Promise((r) => setTimeout(r, 30));
        addRunning = false;
        return add(args);
      },
      slow: async () => {
        slowStartedWhileAddRunning = addRunning;
        await new Promise((r) => setTimeout(r, 5));
        return { text: '{"ok":true}', output: { ok: true }, isError: false };
      },
    });
    const service = new ChatService({ provider, model: 'm', tools });
    const events = await collect(service.chat('add them'));
    expect(slowStartedWhileAddRunning).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['tool_start', 'tool_start', 'tool_end', 'tool_end', 'token', 'final']);
    // `slow` ends first: tool_end events come in completion order.
    expect(events[2]).toMatchObject({ type: 'tool_end', id: 'c2', tool: 'slow', output: { ok: true } });
    expect(events[3]).toMatchObject({ type: 'tool_end', id: 'c1', tool: 'add', output: '5' });
    expect(events[0]).toMatchObject({ type: 'tool_start', id: 'c1', tool: 'add', input: { a: 2, b: 3 } });
    expect(new Date((events[0] as { start: string }).start).toISOString()).toBe((events[0] as { start: string }).start);
    const final = events.at(-1) as FinalEvent;
    expect(final).toMatchObject({ content: 'Done: 5', tool_used: true, tools: ['add', 'slow'] });
    expect(final.usage).toEqual({ input_tokens: 12, output_tokens: 4 });
    // The second call saw both results, in call order, after the assistant's tool calls.
    const second = provider.requests[1]?.messages ?? [];
    expect(second.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'tool']);
    expect(second[2]).toMatchObject({ role: 'tool', toolCallId: 'c1', content: '5' });
    expect(second[3]).toMatchObject({ role: 'tool', toolCallId: 'c2' });
  });

  it('reports a tool error event and sends the error back to the model', async () => {
    const provider = scriptedProvider([
      [call('c1', 'broken'), call('c2', 'missing'), finish('tool_calls')],
      [text('Sorry.'), finish()],
    ]);
    const tools = functionTools({
      broken: async () => ({ text: 'disk on fire', output: 'disk on fire', isError: true }),
    });
    const events = await collect(new ChatService({ provider, model: 'm', tools }).chat('go'));
    const errors = events.filter((e) => e.type === 'tool_error');
    expect(errors).toHaveLength(2);
    expect(errors.find((e) => e.id === 'c1')).toMatchObject({ tool: 'broken', error: 'disk on fire' });
    expect(errors.find((e) => e.id === 'c2')).toMatchObject({ tool: 'missing', error: "Unknown tool 'missing'." });
    expect(events.at(-1)?.type).toBe('final');
    const toolMessages = provider.requests[1]?.messages.filter((m) => m.role === 'tool');
    expect(toolMessages?.every((m) => m.role === 'tool' && m.isError)).toBe(true);
  });

  it('stops offering tools after maxToolRounds so the turn ends with an answer', async () => {
    const loop = () => [call(`c${Math.random()}`, 'add', { a: 1, b: 1 }), finish('tool_calls')];
    const provider = scriptedProvider([
      loop,
      loop,
      (request) => [text(`tools: ${request.tools?.length ?? 0}`), finish()],
    ]);
    const service = new ChatService({ provider, model: 'm', tools: functionTools({ add }), maxToolRounds: 2 });
    const events = await collect(service.chat('loop'));
    expect(provider.requests.map((r) => r.tools?.length)).toEqual([1, 1, 0]);
    expect(events.filter((e) => e.type === 'tool_start')).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({ type: 'final', content: 'tools: 0' });
  });

  it('saves the whole turn, tool calls and results included, once at the end', async () => {
    const history = arrayHistory([
      { role: 'user', content: 'earlier' },
      { role: 'assistant', content: 'earlier answer' },
    ]);
    const provider = scriptedProvider([
      [call('c1', 'add', { a: 1, b: 2 }), finish('tool_calls')],
      [text('3'), finish()],
    ]);
    await collect(new ChatService({ provider, model: 'm', tools: functionTools({ add }) }).chat('1+2?', { history }));
    expect(provider.requests[0]?.messages.map((m) => m.content)).toEqual(['earlier', 'earlier answer', '1+2?']);
    expect(history.messages).toEqual([
      { role: 'user', content: 'earlier' },
      { role: 'assistant', content: 'earlier answer' },
      { role: 'user', content: '1+2?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'add', arguments: { a: 1, b: 2 } }] },
      { role: 'tool', toolCallId: 'c1', name: 'add', content: '3' },
      { role: 'assistant', content: '3' },
    ]);
  });

  it('keeps a tool call’s provider signature in the transcript and the history (Gemini thought signatures)', async () => {
    const history = arrayHistory([]);
    const provider = scriptedProvider([
      [{ ...call('c1', 'add', { a: 1, b: 2 }), signature: 'sig-1' } as LlmStreamEvent, finish('tool_calls')],
      [text('3'), finish()],
    ]);
    await collect(new ChatService({ provider, model: 'm', tools: functionTools({ add }) }).chat('1+2?', { history }));
    const sent = provider.requests[1]?.messages.find((m) => m.role === 'assistant');
    expect(sent).toMatchObject({ toolCalls: [{ id: 'c1', signature: 'sig-1' }] });
    expect(history.messages[1]).toMatchObject({ toolCalls: [{ id: 'c1', signature: 'sig-1' }] });
  });

  it('trims old turns to the context budget, never splitting a tool call from its result', async () => {
    const long = 'x'.repeat(4000);
    const history = arrayHistory([
      { role: 'user', content: `old ${long}` },
      { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 'add', arguments: {} }] },
      { role: 'tool', toolCallId: 'a', name: 'add', content: long },
      { role: 'assistant', content: 'old answer' },
      { role: 'user', content: 'recent' },
      { role: 'assistant', content: 'recent answer' },
    ]);
    const provider = scriptedProvider([[text('ok'), finish()]]);
    const service = new ChatService({
      provider,
      model: 'm',
      tools: functionTools({}),
      contextWindow: 1500,
      maxTokens: 500,
    });
    await collect(service.chat('now', { history }));
    const sent = provider.requests[0]?.messages ?? [];
    expect(sent.map((m) => m.content)).toEqual(['recent', 'recent answer', 'now']);
  });

  it('an abort stops the LLM and the running tools, ends with one error event, and keeps the partial turn', async () => {
    const controller = new AbortController();
    const history = arrayHistory();
    let toolSignal: AbortSignal | undefined;
    const provider = scriptedProvider([[text('Let me check. '), call('c1', 'hang'), finish('tool_calls')]]);
    const tools = functionTools({
      hang: (_args, options) =>
        new Promise((_resolve, reject) => {
          toolSignal = options.signal;
          options.signal?.addEventListener('abort', () => reject(new LlmChatError('ABORTED', 'stopped')));
        }),
    });
    const service = new ChatService({ provider, model: 'm', tools });
    const events: ChatEvent[] = [];
    const started = { at: 0 };
    for await (const event of service.chat('check', { history, signal: controller.signal })) {
      events.push(event);
      if (event.type === 'tool_start') {
        setTimeout(() => {
          started.at = performance.now();
          controller.abort();
        }, 10);
      }
    }
    expect(performance.now() - started.at).toBeLessThan(100);
    expect(toolSignal?.aborted).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'ABORTED', recoverable: true });
    expect(events.filter((e) => e.type === 'final' || e.type === 'error')).toHaveLength(1);
    expect(history.messages).toEqual([
      { role: 'user', content: 'check' },
      { role: 'assistant', content: 'Let me check. ', toolCalls: [{ id: 'c1', name: 'hang', arguments: {} }] },
      {
        role: 'tool',
        toolCallId: 'c1',
        name: 'hang',
        content: 'The tool call was interrupted before it finished.',
        isError: true,
      },
      { role: 'assistant', content: '', interrupted: true },
    ]);
  });

  it('keeps the partial answer, marked interrupted, when the consumer stops early', async () => {
    const history = arrayHistory();
    const provider = scriptedProvider([[text('one '), text('two '), text('three'), finish()]]);
    const service = new ChatService({ provider, model: 'm', tools: functionTools({}) });
    for await (const event of service.chat('count', { history })) {
      if (event.type === 'token' && event.content === 'two ') break;
    }
    expect(history.messages).toEqual([
      { role: 'user', content: 'count' },
      { role: 'assistant', content: 'one two ', interrupted: true },
    ]);
  });

  it('turns a provider failure into a typed error event and a history failure into BACKEND_UNAVAILABLE', async () => {
    const failing = scriptedProvider([]);
    const events = await collect(
      new ChatService({ provider: failing, model: 'm', tools: functionTools({}) }).chat('x'),
    );
    expect(events).toEqual([
      { type: 'error', error: 'No scripted call left.', recoverable: true, code: 'PROVIDER_ERROR' },
    ]);

    const history = {
      load: async () => [],
      append: async () => {
        throw new LlmChatError('BACKEND_UNAVAILABLE', 'Session storage is unavailable.');
      },
    };
    const provider = scriptedProvider([[text('hi'), finish()]]);
    const out = await collect(
      new ChatService({ provider, model: 'm', tools: functionTools({}) }).chat('x', { history }),
    );
    expect(out.map((e) => e.type)).toEqual(['token', 'error']);
    expect(out.at(-1)).toMatchObject({ code: 'BACKEND_UNAVAILABLE', recoverable: true });
  });

  it('hides the message of an unknown failure', async () => {
    const provider = {
      kind: 'broken',
      // biome-ignore lint/correctness/useYield: it fails before yielding, on purpose
      async *stream() {
        throw new Error('socket hang up at https://user:sk-secret@example.com');
      },
    };
    const events = await collect(new ChatService({ provider, model: 'm', tools: functionTools({}) }).chat('x'));
    expect(events).toEqual([
      { type: 'error', error: 'An unexpected error occurred.', recoverable: false, code: 'INTERNAL' },
    ]);
  });

  it('hands each token to onToken instead of yielding it, in order around the other events', async () => {
    const provider = scriptedProvider([
      [text('Let me '), text('add. '), call('c1', 'add', { a: 1, b: 2 }), finish('tool_calls')],
      [text('3'), finish()],
    ]);
    const order: string[] = [];
    let holding: (() => void) | undefined;
    const events = service(provider).chat('1+2', {
      onToken: (token) => {
        order.push(`token ${token}`);
        // The first token holds the loop back for a while: nothing may come before it is let go.
        if (token !== 'Let me ') return undefined;
        return new Promise<void>((resolve) => {
          holding = () => {
            order.push('let go');
            resolve();
          };
          setTimeout(() => holding?.(), 20);
        });
      },
    });
    for await (const event of events) order.push(event.type);
    expect(order).toEqual(['token Let me ', 'let go', 'token add. ', 'tool_start', 'tool_end', 'token 3', 'final']);
  });

  it('lets a provider hand its text over in place when the turn has onToken and no call hooks', async () => {
    // A provider that honors onText: text goes to it when given, else comes as events.
    const given: boolean[] = [];
    const handing: LlmProvider = {
      kind: 'handing',
      async *stream(_request, options) {
        given.push(options?.onText !== undefined);
        for (const event of [text('Hel'), text('lo'), finish()]) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          if (event.type === 'text' && options?.onText) await options.onText(event.text);
          else yield event;
        }
      },
    };
    const tokens: string[] = [];
    const onToken = (token: string) => {
      tokens.push(token);
      return undefined;
    };
    const chat = new ChatService({ provider: handing, model: 'm', tools: functionTools({}) });
    const events = await collect(chat.chat('hi', { onToken }));
    expect(tokens).toEqual(['Hel', 'lo']);
    expect(events.map((event) => event.type)).toEqual(['final']);
    expect((events[0] as FinalEvent).content).toBe('Hello');
    // Hooks that observe the call's events get them all: no text is handed over past them.
    const observed: string[] = [];
    const hooks = { llmCall: () => ({ end: (outcome: { text: string }) => observed.push(outcome.text) }) };
    await collect(chat.chat('hi', { onToken, hooks }));
    expect(given).toEqual([true, false]);
    expect(observed).toEqual(['Hello']);
    expect(tokens).toEqual(['Hel', 'lo', 'Hel', 'lo']);
  });

  it('complete() gathers its answer from the tokens whatever onToken says', async () => {
    const onToken = () => {
      throw new Error('complete() must not call onToken');
    };
    const result = await service(scriptedProvider([[text('4'), text('2'), finish()]])).complete('x', { onToken });
    expect(result.response).toBe('42');
  });

  it('complete() returns the gateway’s non-streaming shape', async () => {
    const provider = scriptedProvider([
      [call('c1', 'add', { a: 2, b: 2 }), finish('tool_calls')],
      [text('4'), finish()],
    ]);
    const result = await new ChatService({ provider, model: 'm', tools: functionTools({ add }) }).complete('2+2');
    expect(result.response).toBe('4');
    expect(result.tool_used).toBe(true);
    expect(result.tools).toEqual(['add']);
    expect(result.tool_invocations.map((e) => e.type)).toEqual(['tool_start', 'tool_end']);
    await expect(
      new ChatService({ provider: scriptedProvider([]), model: 'm', tools: functionTools({}) }).complete('x'),
    ).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
    });
  });

  it('passes the system prompt, temperature, max tokens and vision flag', async () => {
    const provider = scriptedProvider([[text('ok'), finish()]]);
    const service = new ChatService({
      provider,
      model: 'gpt-x',
      tools: functionTools({}),
      systemPrompt: 'Be brief.',
      temperature: 0.2,
      maxTokens: 99,
      supportsVision: true,
    });
    await collect(service.chat('hi'));
    expect(provider.requests[0]).toMatchObject({
      model: 'gpt-x',
      system: 'Be brief.',
      temperature: 0.2,
      maxTokens: 99,
      vision: true,
    });
  });

  it('refuses a bad maxToolRounds at construction', () => {
    expect(
      () =>
        new ChatService({ provider: scriptedProvider([]), model: 'm', tools: functionTools({}), maxToolRounds: -1 }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
