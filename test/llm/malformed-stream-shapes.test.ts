import { afterEach, describe, expect, it } from 'vitest';
import { LlmChatError } from '../../src/errors.js';
import { BatchedStreamEvents } from '../../src/llm/batch-stream-events.js';
import type { LlmStreamEvent } from '../../src/llm/llm-provider.js';
import type { StreamParser } from '../../src/llm/stream-parser.js';
import { collect, collectFailure } from './helpers.js';
import { dataEvent, hi, openai, type RawSseServer, serveRawSse } from './raw-sse-server.js';

// A chunk of an odd shape is the provider's fault, not the connection's: sending the whole prompt
// again would meet the same answer. It fails the call at once, as a malformed stream.

let server: RawSseServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const finish = dataEvent({ choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] });

describe('odd chunk shapes from an OpenAI-compatible server', () => {
  it('skips a tool-call fragment that is not an object, and sends the call once', async () => {
    const call = { index: 0, id: 'call_1', function: { name: 'add', arguments: '{"a":1}' } };
    server = await serveRawSse((response) => {
      response.end(dataEvent({ choices: [{ index: 0, delta: { tool_calls: [null, 7, [], call] } }] }) + finish);
    });
    const events = await collect(openai(server.url, { maxRetries: 2 }).stream(hi));
    expect(events.filter((event) => event.type === 'tool_call')).toEqual([
      { type: 'tool_call', id: 'call_1', name: 'add', arguments: { a: 1 } },
    ]);
    expect(server.requests()).toBe(1);
  });

  it('tool arguments nested too deep to copy: PROVIDER_ERROR, not retried', async () => {
    const nested = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const chunk = JSON.stringify({
      choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: 0 } }] } }],
    }).replace('"arguments":0', `"arguments":${nested}`);
    server = await serveRawSse((response) => {
      response.end(`data: ${chunk}\n\n${finish}`);
    });
    const { error } = await collectFailure(openai(server.url, { maxRetries: 2 }).stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toBe('The OpenAI API sent a malformed stream.');
    expect(error.cause).toBeInstanceOf(RangeError);
    expect(server.requests()).toBe(1);
  });
});

describe('BatchedStreamEvents and a parser that breaks', () => {
  /** A parser that throws `thrown` on the message `!` (in `end` when `atEnd`). */
  function breakingParser(thrown: unknown, atEnd = false): StreamParser<string> {
    return {
      *push(message) {
        if (message === '!') throw thrown;
        yield { type: 'text', text: message };
      },
      done: false,
      *end(): Generator<LlmStreamEvent> {
        if (atEnd) throw thrown;
        yield { type: 'finish', reason: 'stop' };
      },
    };
  }

  it('turns what is not an LlmChatError into a PROVIDER_ERROR naming the provider, the original as cause', () => {
    const thrown = new TypeError("Cannot read properties of null (reading 'function')");
    const events = new BatchedStreamEvents(breakingParser(thrown), 'Acme');
    // The text before the failure still goes out.
    expect(events.of(['a', '!', 'b'])).toEqual([{ type: 'text', text: 'a' }]);
    let error: unknown;
    try {
      events.throwIfFailed();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LlmChatError);
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', message: 'The Acme API sent a malformed stream.' });
    expect((error as LlmChatError).cause).toBe(thrown);
  });

  it('lets a parser’s own LlmChatError out as it is', () => {
    const thrown = new LlmChatError('PROVIDER_ERROR', 'its own words');
    const events = new BatchedStreamEvents(breakingParser(thrown), 'Acme');
    events.of(['!']);
    expect(() => events.throwIfFailed()).toThrow(thrown);
  });

  it('does the same for the closing events', () => {
    const thrown = new RangeError('Maximum call stack size exceeded');
    const events = new BatchedStreamEvents(breakingParser(thrown, true), 'Acme');
    expect(() => events.end()).toThrow(expect.objectContaining({ code: 'PROVIDER_ERROR', cause: thrown }));
  });
});
