import { afterEach, describe, expect, it } from 'vitest';
import { createAnthropicStreamParser } from '../../src/llm/anthropic-stream.js';
import { createBedrockStreamParser } from '../../src/llm/bedrock-stream.js';
import { createCohereStreamParser } from '../../src/llm/cohere-stream.js';
import { createGoogleStreamParser } from '../../src/llm/google-stream.js';
import type { LlmStreamEvent } from '../../src/llm/llm-provider.js';
import { createOpenAIStreamParser } from '../../src/llm/openai-stream.js';
import type { StreamParser } from '../../src/llm/stream-parser.js';
import { MAX_TOOL_ARGUMENT_CHARS, MAX_TOOL_CALLS } from '../../src/llm/tool-call-budget.js';
import { collectFailure } from './helpers.js';
import { anthropic, dataEvent, hi, openai, type RawSseServer, serveRawSse, writeEndlessly } from './raw-sse-server.js';

// A stream parser holds a tool call until it is complete. A stream that never completes one, or
// opens call after call, must fail (PROVIDER_ERROR, not retried) instead of growing the parser
// until the process runs out of memory.

let server: RawSseServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const PIECE = 'x'.repeat(60_000);
const TOO_LARGE = /too large \(more than 4194304 characters of arguments\)/;
const TOO_MANY = /too many tool calls \(more than 128 in one answer\)/;

/** Pushes each message through the parser, its closing events included; returns the events. */
function run<M>(parser: StreamParser<M>, messages: M[]): LlmStreamEvent[] {
  const events: LlmStreamEvent[] = [];
  for (const message of messages) events.push(...parser.push(message));
  events.push(...parser.end());
  return events;
}

const sse = (value: unknown) => ({ data: JSON.stringify(value), event: undefined, id: undefined });

describe('OpenAI tool calls', () => {
  const fragment = (index: number, fn: Record<string, unknown>, id?: string) =>
    sse({ choices: [{ index: 0, delta: { tool_calls: [{ index, ...(id ? { id } : {}), function: fn }] } }] });
  const finish = sse({ choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] });

  it('arguments that never end fail the call once they pass the bound, and it is not sent again', async () => {
    let clientLeft: Promise<boolean> | undefined;
    server = await serveRawSse((response) => {
      response.write(
        dataEvent({
          choices: [
            { index: 0, delta: { tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{"a":"' } }] } },
          ],
        }),
      );
      const piece = dataEvent({
        choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: PIECE } }] } }],
      });
      clientLeft = writeEndlessly(response, piece);
    });
    const { error } = await collectFailure(openai(server.url, { maxRetries: 2 }).stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toMatch(TOO_LARGE);
    expect(await clientLeft).toBe(true);
    expect(server.requests()).toBe(1);
  });

  it('a call at each new index fails past the bound; the bound itself is fine', () => {
    const calls = (count: number) =>
      Array.from({ length: count }, (_, index) => fragment(index, { name: 'f', arguments: '{}' }, `c${index}`));
    const events = run(createOpenAIStreamParser('OpenAI'), [...calls(MAX_TOOL_CALLS), finish]);
    expect(events.filter((event) => event.type === 'tool_call')).toHaveLength(MAX_TOOL_CALLS);
    expect(() => run(createOpenAIStreamParser('OpenAI'), [...calls(MAX_TOOL_CALLS + 1), finish])).toThrow(TOO_MANY);
  });

  it('counts calls without an index, and the arguments of all calls together', () => {
    const noIndex = Array.from({ length: MAX_TOOL_CALLS + 1 }, (_, i) =>
      sse({ choices: [{ index: 0, delta: { tool_calls: [{ id: `c${i}`, function: { name: 'f' } }] } }] }),
    );
    expect(() => run(createOpenAIStreamParser('OpenAI'), noIndex)).toThrow(TOO_MANY);
    const half = 'y'.repeat(MAX_TOOL_ARGUMENT_CHARS / 2 + 1);
    const twoHalves = [
      fragment(0, { name: 'f', arguments: half }, 'a'),
      fragment(1, { name: 'g', arguments: half }, 'b'),
    ];
    expect(() => run(createOpenAIStreamParser('OpenAI'), twoHalves)).toThrow(TOO_LARGE);
  });
});

describe('Anthropic tool calls', () => {
  const event = (value: Record<string, unknown>) => `event: ${value.type}\n${dataEvent(value)}`;
  const start = event({ type: 'message_start', message: { usage: { input_tokens: 1 } } });
  const toolStart = (index: number) =>
    sse({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: `t${index}`, name: 'f' } });
  const stop = (index: number) => sse({ type: 'content_block_stop', index });

  it('input that never ends fails the call once it passes the bound, and it is not sent again', async () => {
    let clientLeft: Promise<boolean> | undefined;
    server = await serveRawSse((response) => {
      response.write(
        start +
          event({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't', name: 'f' } }),
      );
      const piece = event({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'input_json_delta', partial_json: PIECE },
      });
      clientLeft = writeEndlessly(response, piece);
    });
    const { error } = await collectFailure(anthropic(server.url, { maxRetries: 2 }).stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toMatch(TOO_LARGE);
    expect(await clientLeft).toBe(true);
    expect(server.requests()).toBe(1);
  });

  it('more tool_use blocks than the bound in one answer fail; the bound itself is fine', () => {
    const blocks = (count: number) => Array.from({ length: count }, (_, i) => [toolStart(i), stop(i)]).flat();
    const done = sse({ type: 'message_stop' });
    const events = run(createAnthropicStreamParser('Anthropic'), [...blocks(MAX_TOOL_CALLS), done]);
    expect(events.filter((e) => e.type === 'tool_call')).toHaveLength(MAX_TOOL_CALLS);
    expect(() => run(createAnthropicStreamParser('Anthropic'), blocks(MAX_TOOL_CALLS + 1))).toThrow(TOO_MANY);
  });

  it('blocks started at new indices and never stopped fail past the bound', () => {
    const text = (index: number) =>
      sse({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
    const opened = Array.from({ length: 200 }, (_, i) => text(i));
    expect(() => run(createAnthropicStreamParser('Anthropic'), opened)).toThrow(/too many content blocks at once/);
  });

  it('thinking that never ends fails past its bound', () => {
    const thinking = sse({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } });
    const delta = sse({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: PIECE } });
    const parser = createAnthropicStreamParser('Anthropic');
    expect(() => {
      for (const message of [thinking, ...Array.from({ length: 100 }, () => delta)]) [...parser.push(message)];
    }).toThrow(/thinking that is too large/);
  });
});

describe('the other providers', () => {
  it('Cohere: arguments and calls past the bounds fail', () => {
    const callStart = (index: number, args = '') =>
      sse({
        type: 'tool-call-start',
        index,
        delta: { message: { tool_calls: { id: `c${index}`, function: { name: 'f', arguments: args } } } },
      });
    const delta = sse({
      type: 'tool-call-delta',
      index: 0,
      delta: { message: { tool_calls: { function: { arguments: PIECE } } } },
    });
    expect(() =>
      run(createCohereStreamParser('Cohere'), [callStart(0), ...Array.from({ length: 100 }, () => delta)]),
    ).toThrow(TOO_LARGE);
    const starts = Array.from({ length: MAX_TOOL_CALLS + 1 }, (_, i) => callStart(i));
    expect(() => run(createCohereStreamParser('Cohere'), starts)).toThrow(TOO_MANY);
  });

  it('Bedrock: input and tool uses past the bounds fail', () => {
    const frame = (type: string, body: unknown) => ({ messageType: 'event', type, body: JSON.stringify(body) });
    const toolUse = (index: number) =>
      frame('contentBlockStart', {
        contentBlockIndex: index,
        start: { toolUse: { toolUseId: `t${index}`, name: 'f' } },
      });
    const delta = frame('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: PIECE } } });
    expect(() =>
      run(createBedrockStreamParser('Bedrock'), [toolUse(0), ...Array.from({ length: 100 }, () => delta)]),
    ).toThrow(TOO_LARGE);
    const starts = Array.from({ length: MAX_TOOL_CALLS + 1 }, (_, i) => toolUse(i));
    expect(() => run(createBedrockStreamParser('Bedrock'), starts)).toThrow(TOO_MANY);
  });

  it('Google: more function calls than the bound fail', () => {
    const part = { functionCall: { name: 'f', args: {} } };
    const parts = Array.from({ length: MAX_TOOL_CALLS + 1 }, () => part);
    const chunk = sse({ candidates: [{ content: { parts }, finishReason: 'STOP' }] });
    expect(() => run(createGoogleStreamParser('Gemini'), [chunk])).toThrow(TOO_MANY);
  });
});
