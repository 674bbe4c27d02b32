import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GoogleProvider } from '../../src/llm/google-provider.js';
import type { LlmRequest } from '../../src/llm/llm-provider.js';
import { VertexProvider, type VertexProviderConfig } from '../../src/llm/vertex-provider.js';
import { googleError, SKIP_SIGNATURE, startFakeGemini } from '../fixtures/fake-gemini-server.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { collect, collectFailure, expectSecretAbsent, FAST, textOf } from './helpers.js';

const KEY = 'AIza-test-SECRET-key-123';
const TOKEN = 'ya29.test-SECRET-token';
let gemini: FakeLlmServer;
let vertex: FakeLlmServer;

beforeAll(async () => {
  gemini = await startFakeGemini({ apiKey: KEY });
  vertex = await startFakeGemini({ flavor: 'vertex', accessToken: TOKEN, project: 'acme', location: 'us-central1' });
});
afterAll(async () => {
  await Promise.all([gemini.close(), vertex.close()]);
});
beforeEach(() => {
  for (const fake of [gemini, vertex]) {
    fake.requests.length = 0;
    fake.reply({ kind: 'text', chunks: ['Hello', ' from', ' the fake.'] });
  }
});

function google(options = {}) {
  return new GoogleProvider({ baseUrl: gemini.url, apiKey: KEY }, { ...FAST, ...options });
}

function onVertex(config: Partial<VertexProviderConfig> = {}) {
  return new VertexProvider(
    { project: 'acme', location: 'us-central1', baseUrl: vertex.url, getAccessToken: async () => TOKEN, ...config },
    FAST,
  );
}

const hi: LlmRequest = { model: 'gemini-3-pro-preview', messages: [{ role: 'user', content: 'Hi' }] };
const addTool = { name: 'add', description: 'Adds', inputSchema: { type: 'object', additionalProperties: false } };

describe('GoogleProvider (Gemini API)', () => {
  it('streams text with the key in x-goog-api-key, never in the URL, and reports usage', async () => {
    gemini.reply({ kind: 'text', chunks: ['Bon', 'jour'], usage: { input: 9, output: 3 } });
    const events = await collect(google().stream({ ...hi, system: 'Be brief.', temperature: 0.3, maxTokens: 50 }));
    expect(textOf(events)).toBe('Bonjour');
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 3 } },
      { type: 'finish', reason: 'stop' },
    ]);
    const [request] = gemini.requests;
    expect(request?.path).toBe('/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse');
    expect(request?.headers['x-goog-api-key']).toBe(KEY);
    expect(request?.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { temperature: 0.3, maxOutputTokens: 50 },
    });
  });

  it('reports cached content as part of the input tokens', async () => {
    gemini.reply({ kind: 'text', chunks: ['ok'], usage: { input: 100, output: 2, cached: 64 } });
    const events = await collect(google().stream(hi));
    expect(events.find((e) => e.type === 'usage')).toEqual({
      type: 'usage',
      usage: { inputTokens: 100, outputTokens: 2, cachedInputTokens: 64 },
    });
  });

  it('streams thought parts as reasoning, kept out of the answer', async () => {
    gemini.reply({ kind: 'text', reasoning: ['Weighing ', 'options.'], chunks: ['Answer.'] });
    const events = await collect(google().stream(hi));
    expect(textOf(events)).toBe('Answer.');
    expect(
      events
        .filter((e) => e.type === 'reasoning')
        .map((e) => (e as { text: string }).text)
        .join(''),
    ).toBe('Weighing options.');
  });

  it('ends a blocked prompt with content_filter', async () => {
    gemini.reply({
      kind: 'raw',
      frames: [`data: ${JSON.stringify({ promptFeedback: { blockReason: 'SAFETY' } })}\r\n\r\n`],
    });
    const events = await collect(google().stream(hi));
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'content_filter' });
  });

  it('sends tools as JSON-Schema function declarations and carries the thought signature back', async () => {
    gemini.reply({
      kind: 'tool_calls',
      calls: [
        { name: 'add', arguments: { a: 2, b: 3 } },
        { name: 'add', arguments: { a: 4, b: 5 } },
      ],
    });
    const events = await collect(google().stream({ ...hi, tools: [addTool] }));
    const calls = events.filter((e) => e.type === 'tool_call');
    expect(calls.map((c) => c.arguments)).toEqual([
      { a: 2, b: 3 },
      { a: 4, b: 5 },
    ]);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    // Gemini 3 signs the first call of a step only.
    expect(typeof calls[0]?.signature).toBe('string');
    expect(calls[1]?.signature).toBeUndefined();
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' });
    expect(gemini.requests[0]?.body.tools).toEqual([
      { functionDeclarations: [{ name: 'add', description: 'Adds', parametersJsonSchema: addTool.inputSchema }] },
    ]);

    const toolCalls = calls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments, signature: c.signature }));
    const next: LlmRequest = {
      ...hi,
      tools: [addTool],
      messages: [
        { role: 'user', content: 'Hi' },
        {
          role: 'assistant',
          content: '',
          toolCalls: toolCalls.map(({ signature, ...c }) => (signature ? { ...c, signature } : c)),
        },
        { role: 'tool', toolCallId: toolCalls[0]?.id ?? '', name: 'add', content: '5' },
        { role: 'tool', toolCallId: toolCalls[1]?.id ?? '', name: 'add', content: 'boom', isError: true },
      ],
    };
    gemini.reply({ kind: 'text', chunks: ['5 and 9'] });
    expect(textOf(await collect(google().stream(next)))).toBe('5 and 9');
    expect(gemini.requests[1]?.body.contents.slice(1)).toEqual([
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'add', args: { a: 2, b: 3 } }, thoughtSignature: calls[0]?.signature },
          { functionCall: { name: 'add', args: { a: 4, b: 5 } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'add', response: { output: '5' } } },
          { functionResponse: { name: 'add', response: { error: 'boom' } } },
        ],
      },
    ]);
  });

  it('sends the function declarations sorted by name', async () => {
    await collect(google().stream({ ...hi, tools: [addTool, { name: 'abs', inputSchema: { type: 'object' } }] }));
    const names = gemini.requests[0]?.body.tools[0].functionDeclarations.map((d: { name: string }) => d.name);
    expect(names).toEqual(['abs', 'add']);
  });

  it('sends the documented skip value for a current-turn call that never had a signature', async () => {
    const request: LlmRequest = {
      ...hi,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_openai', name: 'add', arguments: {} }] },
        { role: 'tool', toolCallId: 'call_openai', name: 'add', content: '0' },
      ],
    };
    await collect(google().stream(request));
    expect(gemini.requests[0]?.body.contents[1].parts[0].thoughtSignature).toBe(SKIP_THOUGHT);
  });

  it('has a fake that refuses what Gemini refuses', async () => {
    const send = (contents: unknown) =>
      fetch(`${gemini.url}/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': KEY },
        body: JSON.stringify({ contents }),
      }).then(async (r) => [r.status, (await r.json()).error.message]);
    const user = { role: 'user', parts: [{ text: 'Hi' }] };
    const call = { role: 'model', parts: [{ functionCall: { name: 'add', args: {} } }] };
    const response = { role: 'user', parts: [{ functionResponse: { name: 'add', response: { output: '1' } } }] };
    expect(await send([user, call, response])).toEqual([400, expect.stringMatching(/missing a thought_signature/)]);
    expect(await send([user, response])).toEqual([400, expect.stringMatching(/alternate between user and model/)]);
    expect(await send([user, { role: 'model', parts: [{ text: 'ok' }] }, response])).toEqual([
      400,
      expect.stringMatching(/number of function response parts is equal/),
    ]);
    const signed = { role: 'model', parts: [{ ...call.parts[0], thoughtSignature: 'made-up' }] };
    expect(await send([user, signed, response])).toEqual([400, 'Corrupted thought signature.']);
  });

  it('reports a refused key (400 API_KEY_INVALID) as PROVIDER_AUTH without the key', async () => {
    const wrong = new GoogleProvider({ baseUrl: gemini.url, apiKey: 'AIza-wrong-SECRET' }, FAST);
    const { error } = await collectFailure(wrong.stream(hi));
    expect([error.code, error.details?.status]).toEqual(['PROVIDER_AUTH', 400]);
    expectSecretAbsent(error, 'AIza-wrong-SECRET');
    expect(gemini.requests).toHaveLength(1);
  });

  it('waits as long as a 429’s RetryInfo says, and reports PROVIDER_RATE_LIMITED', async () => {
    gemini.reply(
      googleError(429, 'Resource has been exhausted (e.g. check quota).', [
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '45s' },
      ]),
    );
    // 45 s is over maxRetryAfterMs (2 s in FAST): give up at once, saying how long to wait.
    const { error } = await collectFailure(google().stream(hi));
    expect([error.code, error.retryAfterMs]).toEqual(['PROVIDER_RATE_LIMITED', 45_000]);
    expect(gemini.requests).toHaveLength(1);
  });

  it('maps an in-stream error, a malformed function call and a cut stream to PROVIDER_ERROR', async () => {
    gemini.reply({ kind: 'error_event', before: ['Half'], errorType: 'INVALID_ARGUMENT', message: 'Bad thing' });
    const inStream = await collectFailure(google().stream(hi));
    expect([textOf(inStream.events), inStream.error.code, inStream.error.message]).toEqual([
      'Half',
      'PROVIDER_ERROR',
      'The Gemini API reported an error: Bad thing',
    ]);

    gemini.reply({ kind: 'text', chunks: [''], finishReason: 'MALFORMED_FUNCTION_CALL' });
    const malformed = await collectFailure(google({ maxRetries: 1 }).stream(hi));
    expect(malformed.error.message).toMatch(/malformed function call/);
    // Nothing was shown yet, so it was tried again.
    expect(gemini.requests.length).toBe(3);

    gemini.reply({
      kind: 'raw',
      frames: [`data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: 'x' }] } }] })}\r\n\r\n`],
    });
    const cut = await collectFailure(google().stream(hi));
    expect(cut.error.message).toBe('The Gemini stream ended before the answer was complete.');
  });

  it('reads a stream recorded from Gemini 3 (tool call with signature, then an empty STOP chunk)', async () => {
    // Shaped as packages/google/src/__fixtures__/google-tool-call-gemini3.chunks.txt in the Vercel
    // AI SDK (the recorded signature shortened).
    const usageMetadata = {
      promptTokenCount: 29,
      candidatesTokenCount: 15,
      totalTokenCount: 848,
      thoughtsTokenCount: 804,
    };
    const chunks = [
      {
        candidates: [
          {
            content: {
              parts: [
                {
                  functionCall: { name: 'weather', args: { location: 'San Francisco' } },
                  thoughtSignature: 'EpEgCo4gAb4+9vvW',
                },
              ],
              role: 'model',
            },
            index: 0,
          },
        ],
        usageMetadata,
        modelVersion: 'gemini-3-pro-preview',
        responseId: 'QHiLaa6LBrb8vdIPoNztsAg',
      },
      {
        candidates: [{ content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
        usageMetadata,
        modelVersion: 'gemini-3-pro-preview',
        responseId: 'QHiLaa6LBrb8vdIPoNztsAg',
      },
    ];
    gemini.reply({ kind: 'raw', frames: chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`) });
    const events = await collect(google().stream(hi));
    expect(events).toEqual([
      {
        type: 'tool_call',
        id: expect.any(String),
        name: 'weather',
        arguments: { location: 'San Francisco' },
        signature: 'EpEgCo4gAb4+9vvW',
      },
      // Thinking tokens are billed as output.
      { type: 'usage', usage: { inputTokens: 29, outputTokens: 819 } },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });
});

const SKIP_THOUGHT = SKIP_SIGNATURE;

describe('VertexProvider (Gemini on Vertex AI)', () => {
  it('calls the project’s model path with a bearer token from the host function, asked per request', async () => {
    let asked = 0;
    const provider = onVertex({
      getAccessToken: async () => {
        asked++;
        return TOKEN;
      },
    });
    expect(textOf(await collect(provider.stream({ ...hi, model: 'gemini-2.5-flash' })))).toBe('Hello from the fake.');
    await collect(provider.stream({ ...hi, model: 'gemini-2.5-flash' }));
    expect(asked).toBe(2);
    expect(vertex.requests[0]?.path).toBe(
      '/v1/projects/acme/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    );
    expect(vertex.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('reports a refused, empty or failing token as PROVIDER_AUTH, never showing the token', async () => {
    const refused = await collectFailure(onVertex({ getAccessToken: async () => 'ya29.stale-SECRET' }).stream(hi));
    expect([refused.error.code, refused.error.details?.status]).toEqual(['PROVIDER_AUTH', 401]);
    expectSecretAbsent(refused.error, 'ya29.stale-SECRET');

    for (const bad of ['', 'ya29.two\r\nx-injected: 1']) {
      const empty = await collectFailure(onVertex({ getAccessToken: async () => bad }).stream(hi));
      expect(empty.error.code).toBe('PROVIDER_AUTH');
    }
    const failing = await collectFailure(
      onVertex({
        getAccessToken: async () => {
          throw new Error('metadata server unreachable');
        },
      }).stream(hi),
    );
    expect([failing.error.code, failing.error.message]).toEqual([
      'PROVIDER_AUTH',
      'Could not get credentials for the Vertex AI API.',
    ]);
    // Only the refused token reached the server.
    expect(vertex.requests).toHaveLength(1);
  });

  it('refuses a location that is not a location name, since it becomes part of the host name', () => {
    expect(
      () => new VertexProvider({ project: 'p', location: 'x.evil.com/', getAccessToken: async () => TOKEN }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('uses the global endpoint for location global, and a resource path as given', async () => {
    const seen: string[] = [];
    const provider = new VertexProvider(
      {
        project: 'acme',
        getAccessToken: async () => TOKEN,
      },
      {
        ...FAST,
        maxRetries: 0,
        fetch: async (url) => {
          seen.push(String(url));
          return new Response('{"error":{"code":404,"message":"nope","status":"NOT_FOUND"}}', { status: 404 });
        },
      },
    );
    await collectFailure(provider.stream({ ...hi, model: 'gemini-2.5-pro' }));
    await collectFailure(provider.stream({ ...hi, model: 'projects/p/locations/l/endpoints/123' }));
    expect(seen).toEqual([
      'https://aiplatform.googleapis.com/v1/projects/acme/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
      'https://aiplatform.googleapis.com/v1/projects/p/locations/l/endpoints/123:streamGenerateContent?alt=sse',
    ]);
  });
});
