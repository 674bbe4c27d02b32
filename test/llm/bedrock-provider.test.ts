import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BedrockProvider, type BedrockProviderConfig } from '../../src/llm/bedrock-provider.js';
import type { LlmRequest } from '../../src/llm/llm-provider.js';
import { loadOptionalPeer } from '../../src/llm/load-optional-peer.js';
import type { AwsCredentials } from '../../src/types.js';
import { eventFrame, exceptionFrame } from '../fixtures/event-stream-frames.js';
import { bedrockError, FAKE_AWS_CREDENTIALS, startFakeBedrock } from '../fixtures/fake-bedrock-server.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { collect, collectFailure, expectSecretAbsent, FAST, textOf } from './helpers.js';

const SESSION: AwsCredentials = { ...FAKE_AWS_CREDENTIALS, sessionToken: 'FwoGZXIvYXdzSESSION-secret-token' };
const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
let fake: FakeLlmServer;

beforeAll(async () => {
  fake = await startFakeBedrock({ region: 'us-west-2', credentials: [SESSION] });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.reply({ kind: 'text', chunks: ['Hello', ' from', ' the fake.'] });
});

function provider(config: Partial<BedrockProviderConfig> = {}, options = {}) {
  return new BedrockProvider(
    { region: 'us-west-2', credentials: SESSION, baseUrl: fake.url, ...config },
    { ...FAST, ...options },
  );
}

const hi: LlmRequest = { model: MODEL, messages: [{ role: 'user', content: 'Hi' }] };
const addTool = {
  name: 'add',
  description: 'Adds',
  inputSchema: { type: 'object', properties: { a: { type: 'number' } } },
};

describe('BedrockProvider', () => {
  it('streams text and usage over a signed request the fake accepts', async () => {
    fake.reply({ kind: 'text', chunks: ['Bon', 'jour'], usage: { input: 21, output: 4 } });
    const events = await collect(provider().stream({ ...hi, system: 'Be brief.', temperature: 1.7, maxTokens: 99 }));
    expect(textOf(events)).toBe('Bonjour');
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 21, outputTokens: 4 } },
      { type: 'finish', reason: 'stop' },
    ]);
    const [request] = fake.requests;
    // The model id's colon is encoded in the path (and signed encoded twice, which the fake checks).
    expect(request?.path).toBe('/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-west-2\/bedrock\/aws4_request/,
    );
    expect(request?.headers['x-amz-security-token']).toBe(SESSION.sessionToken);
    expect(request?.body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      system: [{ text: 'Be brief.' }],
      // Converse takes temperatures up to 1.
      inferenceConfig: { maxTokens: 99, temperature: 1 },
    });
  });

  it('assembles streamed tool input, sends toolConfig, and feeds results back as toolResult blocks', async () => {
    fake.reply({
      kind: 'tool_calls',
      text: ['Let me add.'],
      calls: [
        { id: 'tooluse_1', name: 'add', arguments: { a: 2, b: 3 }, pieces: 4 },
        { id: 'tooluse_2', name: 'add', arguments: { a: 4, b: 5 } },
      ],
    });
    const events = await collect(provider().stream({ ...hi, tools: [addTool] }));
    expect(events.filter((e) => e.type === 'tool_call')).toEqual([
      { type: 'tool_call', id: 'tooluse_1', name: 'add', arguments: { a: 2, b: 3 } },
      { type: 'tool_call', id: 'tooluse_2', name: 'add', arguments: { a: 4, b: 5 } },
    ]);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' });
    expect(fake.requests[0]?.body.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'add', description: 'Adds', inputSchema: { json: addTool.inputSchema } } }],
    });

    fake.reply({ kind: 'text', chunks: ['5 and 9'] });
    const next: LlmRequest = {
      ...hi,
      tools: [addTool],
      messages: [
        { role: 'user', content: 'Hi' },
        {
          role: 'assistant',
          content: 'Let me add.',
          toolCalls: [
            { id: 'tooluse_1', name: 'add', arguments: { a: 2, b: 3 } },
            { id: 'tooluse_2', name: 'add', arguments: { a: 4, b: 5 } },
          ],
        },
        { role: 'tool', toolCallId: 'tooluse_1', name: 'add', content: '5' },
        { role: 'tool', toolCallId: 'tooluse_2', name: 'add', content: 'boom', isError: true },
      ],
    };
    expect(textOf(await collect(provider().stream(next)))).toBe('5 and 9');
    expect(fake.requests[1]?.body.messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { toolResult: { toolUseId: 'tooluse_1', content: [{ text: '5' }] } },
        { toolResult: { toolUseId: 'tooluse_2', content: [{ text: 'boom' }], status: 'error' } },
      ],
    });
  });

  it('sends the tool list sorted by name, the same bytes on every call', async () => {
    const tools = [addTool, { name: 'abs', inputSchema: { type: 'object' } }];
    const bedrock = provider();
    await collect(bedrock.stream({ ...hi, tools }));
    await collect(bedrock.stream({ ...hi, tools }));
    const names = fake.requests[0]?.body.toolConfig.tools.map((t: { toolSpec: { name: string } }) => t.toolSpec.name);
    expect(names).toEqual(['abs', 'add']);
    expect(fake.requests[1]?.rawBody).toBe(fake.requests[0]?.rawBody);
  });

  it('with promptCaching, puts cache points after the system prompt, the tool list and the last message', async () => {
    const cachePoint = { cachePoint: { type: 'default' } };
    await collect(provider({ promptCaching: true }).stream({ ...hi, system: 'Be brief.', tools: [addTool] }));
    const body = fake.requests[0]?.body;
    expect(body.system).toEqual([{ text: 'Be brief.' }, cachePoint]);
    expect(body.toolConfig.tools.at(-1)).toEqual(cachePoint);
    expect(body.messages.at(-1).content).toEqual([{ text: 'Hi' }, cachePoint]);
    // Off by default: not every Bedrock model takes cache points.
    await collect(provider().stream({ ...hi, system: 'Be brief.', tools: [addTool] }));
    expect(fake.requests[1]?.rawBody).not.toContain('cachePoint');
  });

  it('writes past tool use as text when a request carries no tools, which Converse would refuse', async () => {
    const request: LlmRequest = {
      ...hi,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: '', toolCalls: [{ id: 't1', name: 'add', arguments: { a: 1 } }] },
        { role: 'tool', toolCallId: 't1', name: 'add', content: '1' },
      ],
    };
    expect(textOf(await collect(provider().stream(request)))).toBe('Hello from the fake.');
    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'user', content: [{ text: 'Hi' }] },
      { role: 'assistant', content: [{ text: '[Called the tool add with {"a":1}]' }] },
      { role: 'user', content: [{ text: '[The tool add returned: 1]' }] },
    ]);
  });

  it('reports prompt-cache reads and writes as parts of the input tokens', async () => {
    fake.reply({ kind: 'text', chunks: ['ok'], usage: { input: 100, output: 2, cached: 60, cacheWrite: 30 } });
    const events = await collect(provider().stream(hi));
    expect(events.find((e) => e.type === 'usage')).toEqual({
      type: 'usage',
      usage: { inputTokens: 100, outputTokens: 2, cachedInputTokens: 60, cacheWriteInputTokens: 30 },
    });
  });

  it('streams a reasoning model’s reasoningContent as reasoning, kept out of the answer', async () => {
    fake.reply({ kind: 'text', reasoning: ['Think', 'ing.'], chunks: ['Answer.'] });
    const events = await collect(provider().stream(hi));
    expect(textOf(events)).toBe('Answer.');
    expect(
      events
        .filter((e) => e.type === 'reasoning')
        .map((e) => (e as { text: string }).text)
        .join(''),
    ).toBe('Thinking.');
  });

  it('signs an inference profile ARN as a model (slashes and colons encoded in one path segment)', async () => {
    const arn = 'arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1b2c3d4';
    expect(textOf(await collect(provider().stream({ ...hi, model: arn })))).toBe('Hello from the fake.');
    expect(fake.requests[0]?.path).toBe(`/model/${encodeURIComponent(arn)}/converse-stream`);
  });

  it('calls the credentials function for every request', async () => {
    let calls = 0;
    const credentials = async () => {
      calls++;
      return SESSION;
    };
    await collect(provider({ credentials }).stream(hi));
    await collect(provider({ credentials }).stream(hi));
    expect(calls).toBe(2);
    expect(fake.requests).toHaveLength(2);
  });

  it('reports a signature the fake rejects as PROVIDER_AUTH, without the secret or the token', async () => {
    const wrong = { ...SESSION, secretAccessKey: 'not-the-real-secret-key' };
    const { error } = await collectFailure(provider({ credentials: wrong }).stream(hi));
    expect(error.code).toBe('PROVIDER_AUTH');
    expect(fake.requests).toHaveLength(1);
    expectSecretAbsent(error, wrong.secretAccessKey);
    expectSecretAbsent(error, SESSION.sessionToken as string);
  });

  it('reports a wrong region, missing session token, or a credentials function that throws as PROVIDER_AUTH', async () => {
    expect((await collectFailure(provider({ region: 'eu-west-1' }).stream(hi))).error.code).toBe('PROVIDER_AUTH');
    const noToken = { accessKeyId: SESSION.accessKeyId, secretAccessKey: SESSION.secretAccessKey };
    expect((await collectFailure(provider({ credentials: noToken }).stream(hi))).error.code).toBe('PROVIDER_AUTH');
    const before = fake.requests.length;
    const failing = provider({
      credentials: async () => {
        throw new Error('vault down: token=abc');
      },
    });
    const { error } = await collectFailure(failing.stream(hi));
    expect(error.code).toBe('PROVIDER_AUTH');
    expect(error.message).toBe('Could not get credentials for the Bedrock API.');
    // Nothing was sent.
    expect(fake.requests.length).toBe(before);
  });

  it('gives up on a credentials function that never answers when the first-chunk timeout passes', async () => {
    const hanging = provider({ credentials: () => new Promise<AwsCredentials>(() => {}) }, { firstChunkTimeoutMs: 50 });
    const { error } = await collectFailure(hanging.stream(hi));
    expect(error.code).toBe('TIMEOUT');
  });

  it('maps HTTP throttling to PROVIDER_RATE_LIMITED and validation errors to PROVIDER_ERROR with AWS’s message', async () => {
    fake.reply(bedrockError(429, 'Too many requests, please wait before trying again.'));
    const limited = await collectFailure(provider({}, { maxRetries: 1 }).stream(hi));
    expect(limited.error.code).toBe('PROVIDER_RATE_LIMITED');
    expect(fake.requests).toHaveLength(2);

    fake.reply(bedrockError(400, 'The provided model identifier is invalid.'));
    const invalid = await collectFailure(provider().stream(hi));
    expect(invalid.error.code).toBe('PROVIDER_ERROR');
    expect(invalid.error.message).toContain('The provided model identifier is invalid.');
  });

  it('retries an in-stream throttling exception before any output, then reports PROVIDER_RATE_LIMITED', async () => {
    fake.reply({ kind: 'error_event', errorType: 'throttlingException', message: 'Too many tokens' });
    const { error } = await collectFailure(provider({}, { maxRetries: 2 }).stream(hi));
    expect(error.code).toBe('PROVIDER_RATE_LIMITED');
    expect(fake.requests).toHaveLength(3);
  });

  it('keeps text before a mid-stream exception and does not retry it', async () => {
    fake.reply({
      kind: 'error_event',
      before: ['Half'],
      errorType: 'modelStreamErrorException',
      message: 'Model Stream Error',
    });
    const { events, error } = await collectFailure(provider().stream(hi));
    expect(textOf(events)).toBe('Half');
    expect([error.code, error.message]).toEqual([
      'PROVIDER_ERROR',
      'The Bedrock API reported an error: Model Stream Error',
    ]);
    expect(fake.requests).toHaveLength(1);
  });

  it('refuses a damaged frame and a stream cut mid-answer with PROVIDER_ERROR', async () => {
    fake.reply({ kind: 'malformed', before: ['ok'] });
    const damaged = await collectFailure(provider().stream(hi));
    expect([damaged.error.code, damaged.error.message]).toEqual([
      'PROVIDER_ERROR',
      'The Bedrock stream sent a damaged message.',
    ]);

    fake.reply({ kind: 'text', chunks: ['a', 'b', 'c'], cutAfter: 3 });
    const cut = await collectFailure(provider({}, { maxRetries: 0 }).stream(hi));
    expect(cut.error.code).toBe('PROVIDER_ERROR');
  });

  it('retries a body that ends in the middle of a frame, as a dropped connection', async () => {
    const whole = eventFrame('messageStart', { role: 'assistant' });
    fake.reply({ kind: 'raw', frames: [whole.subarray(0, 10)], contentType: 'application/vnd.amazon.eventstream' });
    const { error } = await collectFailure(provider({}, { maxRetries: 1 }).stream(hi));
    expect([error.code, error.message]).toEqual([
      'PROVIDER_ERROR',
      'The Bedrock stream ended in the middle of a message.',
    ]);
    expect(fake.requests).toHaveLength(2);
  });

  it('takes metadata before messageStop too (the order of the AI SDK’s recorded tool-call chunks)', async () => {
    // Events as in packages/amazon-bedrock/src/__fixtures__/bedrock-tool-call.1.chunks.txt (Vercel AI SDK).
    const frames = [
      eventFrame('contentBlockStart', {
        contentBlockIndex: 0,
        start: { toolUse: { toolUseId: 'tool-use-id', name: 'test-tool' } },
      }),
      eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: '{"value":' } } }),
      eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: '"Sparkle Day"}' } } }),
      eventFrame('contentBlockStop', { contentBlockIndex: 0 }),
      eventFrame('metadata', {
        usage: { inputTokens: 125, outputTokens: 45, totalTokens: 170 },
        metrics: { latencyMs: 234 },
      }),
      eventFrame('messageStop', { stopReason: 'tool_use' }),
    ];
    fake.reply({ kind: 'raw', frames, contentType: 'application/vnd.amazon.eventstream' });
    expect(await collect(provider().stream(hi))).toEqual([
      { type: 'tool_call', id: 'tool-use-id', name: 'test-tool', arguments: { value: 'Sparkle Day' } },
      { type: 'usage', usage: { inputTokens: 125, outputTokens: 45 } },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('decodes an exception frame exactly as AWS sent it (recorded bytes)', async () => {
    // A modelStreamErrorException frame recorded from Bedrock, as kept by the Vercel AI SDK in
    // packages/amazon-bedrock/src/__fixtures__/model-stream-error-exception.eventstream.base64.txt.
    const recorded = Buffer.from(
      'AAAA3QAAAGfHkZB6DTptZXNzYWdlLXR5cGUHAAlleGNlcHRpb24POmV4Y2VwdGlvbi10eXBlBwAZbW9kZWxTdHJlYW1FcnJvckV4Y2VwdGlvbg06Y29udGVudC10eXBlBwAQYXBwbGljYXRpb24vanNvbnsibWVzc2FnZSI6Ik1vZGVsIFN0cmVhbSBFcnJvciIsIm9yaWdpbmFsU3RhdHVzQ29kZSI6NTAwLCJvcmlnaW5hbE1lc3NhZ2UiOiJUaGUgbW9kZWwgc3RyZWFtIGZhaWxlZC4ifVczQxM=',
      'base64',
    );
    // The fake's own encoder writes the very same bytes.
    const payload = {
      message: 'Model Stream Error',
      originalStatusCode: 500,
      originalMessage: 'The model stream failed.',
    };
    expect(Buffer.from(exceptionFrame('modelStreamErrorException', payload))).toEqual(recorded);
    fake.reply({ kind: 'raw', frames: [new Uint8Array(recorded)], contentType: 'application/vnd.amazon.eventstream' });
    const { error } = await collectFailure(provider({}, { maxRetries: 0 }).stream(hi));
    expect([error.code, error.details?.errorType]).toEqual(['PROVIDER_ERROR', 'modelStreamErrorException']);
  });

  it('aborts the HTTP request when the caller aborts', async () => {
    fake.reply({ kind: 'text', chunks: Array.from({ length: 50 }, () => 'x'), delayMs: 20 });
    const controller = new AbortController();
    const stream = provider().stream(hi, { signal: controller.signal });
    const failure = (async () => {
      for await (const event of stream) if (event.type === 'text') controller.abort();
    })();
    await expect(failure).rejects.toMatchObject({ code: 'ABORTED' });
    await fake.requests[0]?.settled;
    expect(fake.requests[0]?.aborted).toBe(true);
  });

  it('refuses a region that is not a region name, since it becomes part of the host name', () => {
    expect(() => new BedrockProvider({ region: 'evil.example.com#', credentials: SESSION })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('says which package to install when an optional peer is missing', async () => {
    const error = await loadOptionalPeer(
      () => Promise.reject(new Error('Cannot find module')),
      'aws4fetch',
      'bedrock',
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((error as Error).message).toMatch(/'bedrock' provider needs the optional package 'aws4fetch'/);
  });
});
