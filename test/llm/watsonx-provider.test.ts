import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IamTokenSource } from '../../src/llm/iam-token-source.js';
import type { LlmRequest } from '../../src/llm/llm-provider.js';
import { ModelRegistry } from '../../src/llm/model-registry.js';
import { WatsonxProvider } from '../../src/llm/watsonx-provider.js';
import { type FakeWatsonx, startFakeWatsonx } from '../fixtures/fake-watsonx-server.js';
import { collect, collectFailure, expectSecretAbsent, FAST, textOf } from './helpers.js';

const KEY = 'ibm-apikey-SECRET-24680';
let wx: FakeWatsonx;
beforeAll(async () => {
  wx = await startFakeWatsonx({ apiKey: KEY, iamDelayMs: 30 });
});
afterAll(async () => {
  await wx.close();
});
beforeEach(() => {
  wx.chat.requests.length = 0;
  wx.chat.reply({ kind: 'text', chunks: ['Ci', 'ao'] });
  wx.now = () => Date.now();
});

const hi: LlmRequest = { model: 'ibm/granite-3-3-8b-instruct', messages: [{ role: 'user', content: 'Hi' }] };

function provider(extra: Partial<ConstructorParameters<typeof WatsonxProvider>[0]> = {}) {
  return new WatsonxProvider(
    { baseUrl: wx.chat.origin, apiKey: KEY, projectId: 'proj-1', iamUrl: wx.iamUrl, ...extra },
    FAST,
  );
}

describe('WatsonxProvider', () => {
  it('the fake refuses a chat call without a valid IAM bearer, as watsonx does', async () => {
    const response = await fetch(`${wx.chat.origin}/ml/v1/text/chat_stream?version=2024-05-01`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model_id: 'm', project_id: 'p', messages: [] }),
    });
    expect(response.status).toBe(401);
  });

  it('exchanges the key for a token and streams text with usage; project_id and version are sent', async () => {
    const before = wx.exchanges;
    const events = await collect(provider().stream({ ...hi, maxTokens: 20, temperature: 0.3 }));
    expect(textOf(events)).toBe('Ciao');
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 10, outputTokens: 5 } },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(wx.exchanges).toBe(before + 1);
    const request = wx.chat.requests[0];
    expect(request?.path).toBe('/ml/v1/text/chat_stream?version=2024-05-01');
    expect(request?.headers.authorization).toBe(`Bearer ${wx.issued.at(-1)}`);
    expect(request?.body).toMatchObject({
      model_id: 'ibm/granite-3-3-8b-instruct',
      project_id: 'proj-1',
      max_tokens: 20,
      temperature: 0.3,
    });
    expect(request?.rawBody).not.toContain(KEY);
  });

  it('streams parallel tool calls whose fragments repeat an empty name', async () => {
    wx.chat.reply({
      kind: 'tool_calls',
      calls: [
        { id: 'chatcmpl-tool-a', name: 'sum', arguments: { a: 2, b: 2 } },
        { id: 'chatcmpl-tool-b', name: 'subtraction', arguments: { a: 4, b: 2 } },
      ],
    });
    const events = await collect(provider({ spaceId: 'space-9', projectId: undefined }).stream(hi));
    expect(events.filter((e) => e.type === 'tool_call')).toEqual([
      { type: 'tool_call', id: 'chatcmpl-tool-a', name: 'sum', arguments: { a: 2, b: 2 } },
      { type: 'tool_call', id: 'chatcmpl-tool-b', name: 'subtraction', arguments: { a: 4, b: 2 } },
    ]);
    expect(wx.chat.requests[0]?.body.space_id).toBe('space-9');
    expect(wx.chat.requests[0]?.body).not.toHaveProperty('project_id');
  });

  it('concurrent calls share one exchange, and later calls reuse the token', async () => {
    const tokens = new IamTokenSource({ apiKey: KEY, iamUrl: wx.iamUrl });
    const shared = provider({ tokens });
    const before = wx.exchanges;
    const results = await Promise.all(Array.from({ length: 5 }, () => collect(shared.stream(hi))));
    expect(results.map(textOf)).toEqual(Array(5).fill('Ciao'));
    await collect(shared.stream(hi));
    expect(wx.exchanges - before).toBe(1);
  });

  it('exchanges again shortly before the token expires', async () => {
    let now = Date.now();
    wx.now = () => now;
    const tokens = new IamTokenSource({ apiKey: KEY, iamUrl: wx.iamUrl, now: () => now });
    const shared = provider({ tokens });
    const before = wx.exchanges;
    await collect(shared.stream(hi));
    now += 50 * 60_000; // 50 of 60 minutes: still fresh
    await collect(shared.stream(hi));
    expect(wx.exchanges - before).toBe(1);
    now += 6 * 60_000; // within five minutes of expiry
    await collect(shared.stream(hi));
    expect(wx.exchanges - before).toBe(2);
  });

  it('a token the API refuses is dropped: that call fails with PROVIDER_AUTH, the next exchanges again', async () => {
    const tokens = new IamTokenSource({ apiKey: KEY, iamUrl: wx.iamUrl });
    const shared = provider({ tokens });
    await collect(shared.stream(hi));
    const before = wx.exchanges;
    wx.revokeAll();
    const { error } = await collectFailure(shared.stream(hi));
    expect(error.code).toBe('PROVIDER_AUTH');
    expectSecretAbsent(error, wx.issued.at(-1) as string);
    expect(textOf(await collect(shared.stream(hi)))).toBe('Ciao');
    expect(wx.exchanges - before).toBe(1);
  });

  it('a refused key → PROVIDER_AUTH, with the key nowhere in the error; the chat API is never called', async () => {
    const bad = 'ibm-apikey-WRONG-13579';
    const { error } = await collectFailure(provider({ apiKey: bad }).stream(hi));
    expect(error.code).toBe('PROVIDER_AUTH');
    expectSecretAbsent(error, bad);
    expect(wx.chat.requests).toHaveLength(0);
  });

  it('watsonx error bodies are read ({ errors: [{ message }] }) and mid-stream errors fail the call', async () => {
    wx.chat.reply({ kind: 'http_error', status: 400, message: 'Model ibm/nope is not supported' });
    const rejected = await collectFailure(provider().stream(hi));
    expect(rejected.error.message).toContain('Model ibm/nope is not supported');

    wx.chat.reply({ kind: 'error_event', before: ['Ci'], message: 'generation failed' });
    const failed = await collectFailure(provider().stream(hi));
    expect(failed.error.code).toBe('PROVIDER_ERROR');
    expect(textOf(failed.events)).toBe('Ci');
  });

  it('the registry validates watsonx models and shares one token source per model', async () => {
    const config = {
      id: 'granite',
      provider: 'watsonx' as const,
      baseUrl: wx.chat.origin,
      apiKey: KEY,
      iamUrl: wx.iamUrl,
    };
    expect(() => new ModelRegistry([{ ...config }])).toThrow(/projectId or a spaceId/);
    expect(() => new ModelRegistry([{ ...config, projectId: 'p', apiKey: undefined }])).toThrow(/apiKey/);
    const registry = new ModelRegistry([{ ...config, model: 'ibm/granite', projectId: 'p' }]);
    const before = wx.exchanges;
    await collect(registry.createProvider('granite', FAST).stream(hi));
    await collect(registry.createProvider('granite', FAST).stream(hi));
    expect(wx.exchanges - before).toBe(1);
  });
});

describe('IamTokenSource', () => {
  it('a caller that gives up does not fail the others waiting on the same exchange', async () => {
    const slow = await startFakeWatsonx({ apiKey: KEY, iamDelayMs: 80 });
    try {
      const tokens = new IamTokenSource({ apiKey: KEY, iamUrl: slow.iamUrl });
      const quitter = new AbortController();
      const first = tokens.token(quitter.signal);
      const second = tokens.token();
      quitter.abort(new Error('gone'));
      await expect(first).rejects.toThrow('gone');
      expect(await second).toBe(slow.issued.at(-1));
      expect(slow.exchanges).toBe(1);
    } finally {
      await slow.close();
    }
  });

  it('an unreachable IAM is a retryable PROVIDER_ERROR; the call retries and then succeeds', async () => {
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      calls++;
      if (calls === 1) throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    const tokens = new IamTokenSource({ apiKey: KEY, iamUrl: wx.iamUrl, fetch: flaky });
    const events = await collect(provider({ tokens }).stream(hi));
    expect(textOf(events)).toBe('Ciao');
    expect(calls).toBe(2);
  });
});
