import { afterEach, describe, expect, it, vi } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { createAnthropicStreamParser } from '../../src/llm/anthropic-stream.js';
import type { LlmStreamEvent } from '../../src/llm/llm-provider.js';
import { createOpenAIStreamParser } from '../../src/llm/openai-stream.js';
import type { StreamParser } from '../../src/llm/stream-parser.js';
import { StringSlotTemplate } from '../../src/llm/string-slot-template.js';
import { collectGarbage } from '../fixtures/collect-garbage.js';

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const contentOf = (chunk: Record<string, unknown>) =>
  (chunk.choices as Array<{ delta?: { content?: unknown } }> | undefined)?.[0]?.delta?.content;

type Outcome = { events: LlmStreamEvent[] } | { error: string };

function pushOne(parser: StreamParser, data: string): Outcome {
  try {
    return { events: [...parser.push({ data, event: undefined, id: undefined })] };
  } catch (error) {
    return { error: isLlmChatError(error) ? `${error.code}: ${error.message}` : String(error) };
  }
}

/** Chunks of one stream: mostly text, with the other kinds and raw text spliced into the token's place. */
function streamOfChunks(next: () => number): string[] {
  const head = `{"id":"chatcmpl-${Math.floor(next() * 1e6)}","object":"chat.completion.chunk","created":1700000000,"model":"m"`;
  const chunk = (delta: object, finish: string | null = null, extra = '') =>
    `${head},"choices":[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${JSON.stringify(finish)}}]${extra}}`;
  const alphabet = ['a', ' ', 'é', '😀', '"', '\\', '\n', '\u0001', '\u2028', '}', ',', ':', 'u', '0', '\ud800'];
  const text = () =>
    Array.from({ length: Math.floor(next() * 6) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
  const rawBodies = [
    'a","x":"b',
    'a\\',
    'a\\u00',
    'a\\u0041b',
    '\\n\\t\\"',
    'a\u0001',
    'a"',
    'a","content":"b',
    '\\ud83d\\ude00',
    'x"},"finish_reason":"stop',
  ];
  const chunks = [chunk({ role: 'assistant', content: '' })];
  for (let index = 0; index < 60; index++) {
    const kind = next();
    if (kind < 0.6) chunks.push(chunk({ content: text() }));
    else if (kind < 0.72) {
      // A text chunk's frame with raw text in the token's place: valid or not, with another meaning or not.
      const plain = chunk({ content: 'PLACE' });
      chunks.push(plain.replace('PLACE', rawBodies[Math.floor(next() * rawBodies.length)] as string));
    } else if (kind < 0.77) chunks.push(chunk({ reasoning_content: text(), content: text() }));
    else if (kind < 0.8) chunks.push(chunk({ content: text() }, 'stop'));
    else if (kind < 0.83)
      chunks.push(chunk({ content: text() }, null, ',"usage":{"prompt_tokens":3,"completion_tokens":4}'));
    else if (kind < 0.86) chunks.push(chunk({ content: text() }, null, ',"error":{"message":"boom"}'));
    else if (kind < 0.89) chunks.push(chunk({ content: text() }, null, ',"x":{"content":"other"}'));
    else if (kind < 0.92) chunks.push(chunk({ content: [{ type: 'text', text: text() }] }));
    else if (kind < 0.95) chunks.push(chunk({ content: text(), padding: text() }));
    else
      chunks.push(
        `${head.replace('"m"', `"m${index}"`)},"choices":[{"index":0,"delta":{"content":${JSON.stringify(text())}}}]}`,
      );
  }
  return chunks;
}

/** Events of one Messages API stream: mostly text deltas, with other events and raw text spliced in. */
function anthropicEvents(next: () => number): string[] {
  const alphabet = ['a', ' ', 'é', '😀', '"', '\\', '\n', '\u0001', '}', ',', 'u', '0'];
  const text = () =>
    Array.from({ length: Math.floor(next() * 6) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
  const delta = (index: number, body: object) => JSON.stringify({ type: 'content_block_delta', index, delta: body });
  const rawBodies = ['a","x":"b', 'a\\', 'a\\u0041b', 'x"},"type":"error', 'a","text":"b', 'a"'];
  const events: string[] = [];
  for (let index = 0; index < 60; index++) {
    const kind = next();
    if (kind < 0.6) events.push(delta(0, { type: 'text_delta', text: text() }));
    else if (kind < 0.72) {
      const plain = delta(0, { type: 'text_delta', text: 'PLACE' });
      events.push(plain.replace('PLACE', rawBodies[Math.floor(next() * rawBodies.length)] as string));
    } else if (kind < 0.77) events.push(delta(1, { type: 'text_delta', text: text() }));
    else if (kind < 0.82) events.push(delta(0, { type: 'thinking_delta', thinking: text() }));
    else if (kind < 0.86) events.push(JSON.stringify({ type: 'ping' }));
    else if (kind < 0.9)
      events.push(
        JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } }),
      );
    else if (kind < 0.93)
      events.push(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'busy' } }));
    else if (kind < 0.96)
      events.push(
        `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(text())},"extra":"${index}"}}`,
      );
    else
      events.push(
        JSON.stringify({
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text: text() },
          x: { text: 'decoy' },
        }),
      );
  }
  return events;
}

describe('StringSlotTemplate in the stream parsers', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    { format: 'Chat Completions', parser: createOpenAIStreamParser, stream: streamOfChunks },
    { format: 'Messages API', parser: createAnthropicStreamParser, stream: anthropicEvents },
  ])(
    'reads every $format chunk exactly as parsing it alone does, whatever is spliced into the token',
    ({ parser: createParser, stream }) => {
      for (let seed = 1; seed <= 200; seed++) {
        const next = random(seed);
        const parser = createParser('Test');
        for (const [index, data] of stream(next).entries()) {
          // A fresh parser never has a template: it parses the chunk in full.
          const expected = pushOne(createParser('Test'), data);
          expect({ seed, index, data, outcome: pushOne(parser, data) }).toEqual({
            seed,
            index,
            data,
            outcome: expected,
          });
        }
      }
    },
  );

  it.each([
    {
      format: 'Chat Completions',
      parser: createOpenAIStreamParser,
      first:
        '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}',
      chunk: (text: string) =>
        `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"finish_reason":null}]}`,
    },
    {
      format: 'Messages API',
      parser: createAnthropicStreamParser,
      first: '{"type":"ping"}',
      chunk: (text: string) =>
        JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
    },
  ])(
    'parses a $format stream only until its chunks repeat, and never twice before the first token',
    ({ parser: createParser, first, chunk }) => {
      const parse = vi.spyOn(JSON, 'parse');
      const parser = createParser('Test');
      let text = '';
      const push = (data: string) => {
        for (const event of parser.push({ data, event: undefined, id: undefined })) {
          if (event.type === 'text') text += event.text;
        }
      };
      // Parses of whole chunks (a token with escapes is decoded by parsing its literal alone).
      const chunkParses = () => parse.mock.calls.filter(([text]) => text.startsWith('{')).length;
      push(first);
      push(chunk('Hello'));
      // The first token cost one parse per chunk: no probe on its way.
      expect(chunkParses()).toBe(2);
      for (let index = 0; index < 100; index++) push(chunk(` t${index}"\\`));
      // One probe when the template first matches; the 100 chunks themselves are not parsed.
      expect(chunkParses()).toBe(3);
      expect(text).toBe(`Hello${Array.from({ length: 100 }, (_, index) => ` t${index}"\\`).join('')}`);
    },
  );

  it('does not spend the OpenAI template on a role chunk that carries no text', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const parser = createOpenAIStreamParser('Test');
    const push = (data: string) => [...parser.push({ data, event: undefined, id: undefined })];
    const chunk = (shape: number, text: string) =>
      `{"id":"c1","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}],"p":${shape}}`;
    push('{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}');
    // Two text chunks of shapes no later chunk has: two of the three fruitless lessons allowed.
    push(chunk(1, 'a'));
    push(chunk(2, 'b'));
    push(chunk(3, 'c'));
    const before = parse.mock.calls.filter(([text]) => text.startsWith('{')).length;
    for (let index = 0; index < 20; index++) push(chunk(3, `t${index}`));
    // The role chunk's lesson would have been the third fruitless one: then every chunk is parsed.
    expect(parse.mock.calls.filter(([text]) => text.startsWith('{')).length - before).toBe(1);
  });

  it('learns nothing from a chunk whose slot is empty, and keeps what it had learned', () => {
    const template = new StringSlotTemplate('"content":"', contentOf);
    const frame = (text: string) => `{"id":"c1","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}]}`;
    const empty = '{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}';
    expect(template.read(frame('a'))).toBeUndefined();
    template.learn(frame('a'), JSON.parse(frame('a')));
    expect(template.read(frame('b'))).toBe('b');
    // A chunk of another shape with nothing in the slot: offered, missed, learned from.
    expect(template.read(empty)).toBeUndefined();
    template.learn(empty, JSON.parse(empty));
    expect(template.read(frame('c'))).toBe('c');
  });

  it('skips the parse for chunks that differ only in the token', () => {
    const template = new StringSlotTemplate('"content":"', contentOf);
    const frame = (text: string) => `{"id":"c1","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}]}`;
    expect(template.read(frame('a'))).toBeUndefined();
    template.learn(frame('a'), JSON.parse(frame('a')));
    expect(template.read(frame('Hello'))).toBe('Hello');
    expect(template.read(frame('say "hi"\n😀'))).toBe('say "hi"\n😀');
    expect(template.read(frame(''))).toBe('');
    expect(template.read(frame('x').replace('"c1"', '"c2"'))).toBeUndefined();
    expect(template.read(frame('x').replace('"x"', '"x","y":"z"'))).toBeUndefined();
  });

  it('does not learn a content key that is not the slot, nor a chunk whose slot already holds the probe', () => {
    const template = new StringSlotTemplate('"content":"', contentOf);
    const decoy = '{"choices":[{"index":0,"delta":{"content":"a"}}],"x":{"content":"b"}}';
    template.learn(decoy, JSON.parse(decoy));
    expect(template.read(decoy.replace('"b"', '"c"'))).toBeUndefined();
    const probeValue = '{"choices":[{"index":0,"delta":{"content":"\\u0001slot\\u0002"}}],"x":{"content":"b"}}';
    template.learn(probeValue, JSON.parse(probeValue));
    expect(template.read(probeValue.replace('"b"', '"c"'))).toBeUndefined();
  });

  it('stops learning after three templates in a row that no later chunk matched', () => {
    const template = new StringSlotTemplate('"content":"', contentOf);
    const frame = (pad: number, text: string) =>
      `{"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}],"obfuscation":"${pad}"}`;
    // As the stream parsers use it: each chunk is offered to `read` first, learned from when it missed.
    const offer = (target: StringSlotTemplate, pad: number) => {
      expect(target.read(frame(pad, 'a'))).toBeUndefined();
      target.learn(frame(pad, 'a'), JSON.parse(frame(pad, 'a')));
    };
    for (let pad = 0; pad < 3; pad++) offer(template, pad);
    expect(template.read(frame(2, 'b'))).toBe('b');
    const tired = new StringSlotTemplate('"content":"', contentOf);
    for (let pad = 0; pad < 4; pad++) offer(tired, pad);
    expect(tired.read(frame(3, 'b'))).toBeUndefined();
  });

  it('keeps no lesson once it stopped learning: one would hold the network read its chunk was cut from', async () => {
    const frame = (pad: number, text: string) =>
      `{"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}],"obfuscation":"${pad}"}`;
    const offer = (target: StringSlotTemplate, pad: number) => {
      expect(target.read(frame(pad, 'a'))).toBeUndefined();
      target.learn(frame(pad, 'a'), JSON.parse(frame(pad, 'a')));
    };
    const tiredOnes: StringSlotTemplate[] = [];
    await collectGarbage();
    const before = process.memoryUsage().heapUsed;
    for (let index = 0; index < 200; index++) {
      const tired = new StringSlotTemplate('"content":"', contentOf);
      // The fifth chunk's read studies the fourth lesson, the third fruitless one: now it is tired.
      for (let pad = 0; pad < 5; pad++) offer(tired, pad);
      const data = cutFromLargeRead(frame(9, `a${index}`), index);
      tired.learn(data, JSON.parse(data));
      tiredOnes.push(tired);
    }
    await collectGarbage();
    // The reads weigh about 200 × 80 KB = 16 MB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4 * 1024 * 1024);
    expect(tiredOnes[199]?.read(frame(9, 'b'))).toBeUndefined();
  });

  it('learns from a chunk only when the next one comes, so the chunk with the first token pays nothing more', () => {
    const readSlot = vi.fn(contentOf);
    const template = new StringSlotTemplate('"content":"', readSlot);
    const frame = (text: string) => `{"id":"c1","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}]}`;
    template.learn(frame('Hello'), JSON.parse(frame('Hello')));
    expect(readSlot).not.toHaveBeenCalled();
    expect(template.read(frame(' world'))).toBe(' world');
    expect(readSlot).toHaveBeenCalled();
  });

  it('keeps its own copy of what it learned, not the network read the chunk was cut from', async () => {
    const frame = (index: number) => `{"id":"c${index}","choices":[{"index":0,"delta":{"content":"a"}}]}`;
    const templates: StringSlotTemplate[] = [];
    await collectGarbage();
    const before = process.memoryUsage().heapUsed;
    for (let index = 0; index < 300; index++) {
      const data = cutFromLargeRead(frame(index), index);
      const template = new StringSlotTemplate('"content":"', contentOf);
      template.learn(data, JSON.parse(data));
      // The lesson is studied when the next chunk comes (another shape here, so it stays unmatched).
      expect(template.read(`{"id":"other${index}"}`)).toBeUndefined();
      templates.push(template);
    }
    await collectGarbage();
    const grown = process.memoryUsage().heapUsed - before;
    // The reads weigh about 300 × 80 KB = 24 MB; what the templates need, a few hundred bytes each.
    expect(grown).toBeLessThan(4 * 1024 * 1024);
    expect(templates[299]?.read(frame(299).replace('"a"', '"b"'))).toBe('b');
  });
});

/**
 * `chunk` as a stream parser gets it: a slice of a network read that holds 4,000 more events
 * (about 80 KB). V8 keeps a slice's whole parent alive, so whoever keeps the slice keeps the read.
 */
function cutFromLargeRead(chunk: string, index: number): string {
  const read = `data: ${chunk}\n\n${`data: {"pad":"${index}"}\n\n`.repeat(4000)}`;
  return read.slice(6, 6 + chunk.length);
}
