import { describe, expect, it, vi } from 'vitest';
import { ChatService } from '../../src/chat/chat-service.js';
import { LlmChatError } from '../../src/errors.js';
import type { LlmProvider, LlmStreamEvent } from '../../src/llm/llm-provider.js';
import type { ToolSource } from '../../src/mcp/tool-source.js';
import { guardObserver } from '../../src/telemetry/guard-observer.js';
import { combineObservers, type TurnHooks, type TurnObserver } from '../../src/telemetry/turn-observer.js';
import { jsonRequest, readFrames, startStack } from '../http/stack.js';

const INFO = { userId: 'u', modelId: 'm', streaming: true, message: 'hi', conversationId: 'c1' };

/** An observer that writes what it sees into `log`, tagged. */
function recorder(tag: string, log: string[], extra: Partial<TurnHooks> = {}): TurnObserver {
  return {
    startTurn(info) {
      log.push(`${tag} start ${info.conversationId}`);
      return {
        llmCall: async (call) => {
          log.push(`${tag} llm ${call.round}`);
          return {
            headers: { [`x-${tag}`]: '1', shared: tag },
            firstToken: () => log.push(`${tag} first`),
            end: (result) => log.push(`${tag} llm-end ${result.error === undefined ? 'ok' : 'error'}`),
          };
        },
        toolCall: (call) => {
          log.push(`${tag} tool ${call.name}`);
          return { meta: { [tag]: true }, end: (result) => log.push(`${tag} tool-end ${result.isError}`) };
        },
        end: (outcome) => log.push(`${tag} end ${outcome.status}`),
        ...extra,
      };
    },
  };
}

/** A provider that calls `echo` once, then answers; records the headers it was given. */
function scriptedProvider(seen: Record<string, string>[]): LlmProvider {
  let calls = 0;
  return {
    kind: 'openai',
    async *stream(_request, options): AsyncIterable<LlmStreamEvent> {
      seen.push({ ...options?.headers });
      if (calls++ === 0) {
        yield { type: 'tool_call', id: 't1', name: 'echo', arguments: { x: 1 } };
      } else {
        yield { type: 'text', text: 'done' };
      }
      yield { type: 'usage', usage: { inputTokens: 3, outputTokens: 2 } };
      yield { type: 'finish', reason: 'stop' };
    },
  };
}

function recordingTools(metas: unknown[]): ToolSource {
  return {
    listTools: () => [{ name: 'echo', description: 'echo', inputSchema: { type: 'object' } }],
    callTool: async (_name, _args, options) => {
      metas.push(options?.meta);
      return { text: 'ok', output: 'ok', isError: false };
    },
    close: async () => {},
  };
}

describe('turn observers', () => {
  it('is undefined for no observers and the observer itself for one', () => {
    const one = recorder('a', []);
    expect(combineObservers([undefined, undefined])).toBeUndefined();
    expect(combineObservers([undefined, one])).toBe(one);
  });

  it('calls every observer in order, merging headers and _meta, through a whole ChatService turn', async () => {
    const log: string[] = [];
    const headers: Record<string, string>[] = [];
    const metas: unknown[] = [];
    const observer = combineObservers([recorder('a', log), recorder('b', log)]) as TurnObserver;
    const service = new ChatService({ provider: scriptedProvider(headers), model: 'm', tools: recordingTools(metas) });
    const hooks = observer.startTurn(INFO);
    const events = [];
    for await (const event of service.chat('hi', hooks ? { hooks } : {})) events.push(event.type);
    expect(events.at(-1)).toBe('final');
    expect(log).toEqual([
      'a start c1',
      'b start c1',
      'a llm 0',
      'b llm 0',
      'a llm-end ok',
      'b llm-end ok',
      'a tool echo',
      'b tool echo',
      'a tool-end false',
      'b tool-end false',
      'a llm 1',
      'b llm 1',
      'a first',
      'b first',
      'a llm-end ok',
      'b llm-end ok',
      'a end final',
      'b end final',
    ]);
    expect(headers[0]).toEqual({ 'x-a': '1', 'x-b': '1', shared: 'b' });
    expect(metas[0]).toEqual({ a: true, b: true });
  });

  it('ends the turn with the error of a refusing llmCall hook, after ending the calls already seen', async () => {
    const log: string[] = [];
    const refuse = recorder('b', log, {
      llmCall: async () => {
        throw new LlmChatError('BUDGET_EXCEEDED', 'The daily token budget is used up.');
      },
    });
    const observer = combineObservers([recorder('a', log), refuse]) as TurnObserver;
    const headers: Record<string, string>[] = [];
    const service = new ChatService({ provider: scriptedProvider(headers), model: 'm', tools: recordingTools([]) });
    const hooks = observer.startTurn(INFO);
    const events = [];
    for await (const event of service.chat('hi', hooks ? { hooks } : {})) events.push(event);
    expect(events).toEqual([expect.objectContaining({ type: 'error', code: 'BUDGET_EXCEEDED', recoverable: false })]);
    expect(headers).toHaveLength(0);
    expect(log).toEqual(['a start c1', 'b start c1', 'a llm 0', 'a llm-end error', 'a end error', 'b end error']);
  });

  it('ends a turn whose consumer stops reading as stopped', async () => {
    const log: string[] = [];
    const observer = recorder('a', log);
    const provider: LlmProvider = {
      kind: 'openai',
      async *stream(): AsyncIterable<LlmStreamEvent> {
        yield { type: 'text', text: 'one' };
        yield { type: 'text', text: 'two' };
        yield { type: 'finish', reason: 'stop' };
      },
    };
    const service = new ChatService({ provider, model: 'm', tools: recordingTools([]) });
    const hooks = observer.startTurn(INFO);
    for await (const event of service.chat('hi', hooks ? { hooks } : {})) {
      if (event.type === 'token') break;
    }
    expect(log.at(-1)).toBe('a end stopped');
    expect(log).toContain('a llm-end error');
  });
});

describe('a turn observer that throws when a turn starts', () => {
  it('is logged, the turn runs unobserved, and the user’s next turn is not blocked', async () => {
    const errors: string[] = [];
    const stack = await startStack({
      telemetry: {
        startTurn: () => {
          throw new Error('observer bug');
        },
      },
      logger: { error: (message) => errors.push(message) },
    });
    try {
      expect((await stack.handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const response = await stack.handler.fetch(jsonRequest('/chat', 'ann', { message: 'hi', streaming: false }));
        expect(response.status).toBe(200);
      }
      expect(errors).toEqual(['a turn observer failed', 'a turn observer failed']);
    } finally {
      await stack.close();
    }
  });
});

describe('guardObserver', () => {
  it('lets an LlmChatError of another copy of the library through llmCall: it still refuses the call', async () => {
    // What `new LlmChatError(...)` of the library's other build (CJS beside ESM) or another
    // version looks like here: not an instance of this copy's class, but branded as one.
    const foreign = Object.assign(new Error('The daily token budget is used up.'), {
      code: 'BUDGET_EXCEEDED',
      [Symbol.for('mcp-llmchat.error')]: true,
    });
    expect(foreign instanceof LlmChatError).toBe(false);
    const failures: string[] = [];
    const guarded = guardObserver(
      {
        startTurn: () => ({
          llmCall: async () => {
            throw foreign;
          },
        }),
      },
      (hook) => failures.push(hook),
    );
    const hooks = guarded.startTurn(INFO) as TurnHooks;
    await expect(
      hooks.llmCall?.({ provider: 'openai', model: 'm', round: 0, request: { model: 'm', messages: [] } }),
    ).rejects.toBe(foreign);
    expect(failures).toEqual([]);
  });
});

describe('a turn observer whose hooks throw', () => {
  it('is logged hook by hook; the turn ends final, is saved and counted, and sends only valid headers', async () => {
    const failed: unknown[] = [];
    const fail = (): never => {
      throw new Error('observer bug');
    };
    // An error that can't even be made a string: the report of it must not fail either.
    const unprintable = Object.create(null);
    const stack = await startStack({
      usage: true,
      telemetry: {
        startTurn: () => ({
          llmCall: () => ({
            headers: { 'x-trace': 'kept', 'x-bad': 'a\r\nInjected: 1', 'bad name': 'x' },
            firstToken: fail,
            end: () => {
              throw unprintable;
            },
          }),
          toolCall: fail,
          end: fail,
        }),
      },
      logger: { error: (message, fields) => failed.push([message, (fields as { hook: string }).hook]) },
    });
    try {
      expect((await stack.handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
      const frames = await readFrames(
        await stack.handler.fetch(jsonRequest('/chat', 'ann', { message: 'please add 2 and 3', streaming: true })),
      );
      expect(frames.map((frame) => frame.event)).toContain('tool_end');
      expect(frames.at(-1)?.event).toBe('final');
      expect(frames.at(-1)?.data.content).toBe('The result is 5.');

      const history = await (await stack.handler.fetch(jsonRequest('/history/ann', 'ann'))).json();
      expect(history.messages.map((message: { role: string }) => message.role)).toEqual(['user', 'assistant']);
      // Usage is the library's own observer: the host's failing one does not stop it counting.
      await vi.waitFor(async () => {
        const usage = await (await stack.handler.fetch(jsonRequest('/usage/ann', 'ann'))).json();
        expect(usage.total).toMatchObject({ turns: 1, llm_calls: 2, tool_calls: 1 });
      });
      const llmHeaders = stack.llm.requests.map((request) => request.headers);
      expect(llmHeaders.map((headers) => headers['x-trace'])).toEqual(['kept', 'kept']);
      expect(llmHeaders.every((headers) => headers['x-bad'] === undefined && headers.injected === undefined)).toBe(
        true,
      );
      const hooks = failed.map((entry) => (entry as [string, string])[1]);
      expect(new Set(failed.map((entry) => (entry as [string, string])[0]))).toEqual(
        new Set(['a turn observer failed']),
      );
      expect(hooks.filter((hook) => hook === 'llmCall headers')).toHaveLength(4);
      expect(hooks).toEqual(expect.arrayContaining(['toolCall', 'firstToken', 'end']));
      // The unprintable error was reported (String() of it throws inside the logger call) without harm.
      expect(hooks).not.toContain('llmCall end');

      // The lock was freed: the user's next turn runs.
      const next = await stack.handler.fetch(jsonRequest('/chat', 'ann', { message: 'hi', streaming: false }));
      expect(next.status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});
