import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LlmRequest } from '../../src/llm/llm-provider.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import type { FakeLlmServer } from '../fixtures/fake-openai-server.js';
import { startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { FAST } from './helpers.js';

// A provider call given `onText` hands the answer's text over in place (no async step a token)
// and yields the other events, in the same order around it.
let fake: FakeLlmServer;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

const provider = () => new OpenAIProvider({ kind: 'openai', baseUrl: fake.url, apiKey: 'sk-test' }, FAST);
const hi: LlmRequest = { model: 'gpt-test', messages: [{ role: 'user', content: 'Hi' }] };

describe('LlmCallOptions.onText', () => {
  it('hands the text over and yields the rest, in order', async () => {
    fake.reply({
      kind: 'tool_calls',
      text: ['Let me', ' add.'],
      calls: [{ name: 'add', arguments: { a: 1 } }],
      delayMs: 5,
    });
    const order: string[] = [];
    const onText = (text: string) => {
      order.push(`text ${text}`);
      return undefined;
    };
    for await (const event of provider().stream(hi, { onText })) order.push(event.type);
    expect(order.filter((entry) => entry !== 'usage')).toEqual(['text Let me', 'text  add.', 'tool_call', 'finish']);
  });

  it('waits out the sink’s hold before it hands over more', async () => {
    fake.reply({ kind: 'text', chunks: ['a', 'b', 'c'], delayMs: 5 });
    const order: string[] = [];
    const onText = (text: string) => {
      order.push(text);
      if (text !== 'a') return undefined;
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          order.push('let go');
          resolve();
        }, 50),
      );
    };
    const events: string[] = [];
    for await (const event of provider().stream(hi, { onText })) events.push(event.type);
    // What came meanwhile waited in the socket: read after the hold, maybe as one chunk.
    expect(order.slice(0, 2)).toEqual(['a', 'let go']);
    expect(order.slice(2).join('')).toBe('bc');
    expect(events).not.toContain('text');
  });

  it('lets what the sink throws out as it is, and does not send the call again', async () => {
    fake.reply({ kind: 'text', chunks: ['a', 'b'], delayMs: 5 });
    const mine = new Error('the sink failed');
    const onText = () => {
      throw mine;
    };
    const stream = provider().stream(hi, { onText });
    await expect(
      (async () => {
        for await (const _ of stream) {
          // drained
        }
      })(),
    ).rejects.toBe(mine);
    expect(fake.requests).toHaveLength(1);
  });

  it('lets a rejected hold out as it is', async () => {
    fake.reply({ kind: 'text', chunks: ['a', 'b'], delayMs: 5 });
    const mine = new Error('the hold failed');
    const stream = provider().stream(hi, { onText: () => Promise.reject(mine) });
    await expect(
      (async () => {
        for await (const _ of stream) {
          // drained
        }
      })(),
    ).rejects.toBe(mine);
  });
});
