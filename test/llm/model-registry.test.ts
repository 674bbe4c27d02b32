import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLlmChatError, type LlmChatError } from '../../src/errors.js';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import { CohereProvider } from '../../src/llm/cohere-provider.js';
import { createLlmProvider } from '../../src/llm/create-llm-provider.js';
import { ModelRegistry } from '../../src/llm/model-registry.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import { WatsonxProvider } from '../../src/llm/watsonx-provider.js';
import type { ModelConfig } from '../../src/types.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { collect, textOf } from './helpers.js';

const SECRET = 'sk-test-SECRET-123';

const models: ModelConfig[] = [
  { id: 'gpt-4o', provider: 'openai', apiKey: SECRET },
  {
    id: 'claude',
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    name: 'Claude Sonnet',
    apiKey: SECRET,
    supportsVision: true,
    maxTokens: 1000,
  },
  {
    id: 'local',
    provider: 'openai_compatible',
    model: 'llama3.1',
    baseUrl: 'http://user:pw@127.0.0.1:11434/v1',
    providerName: 'My box',
    headers: { authorization: `Bearer ${SECRET}` },
  },
  { id: 'azure', provider: 'azure_openai', baseUrl: 'https://x.openai.azure.com', deployment: 'dep', apiKey: SECRET },
  { id: 'off', provider: 'ollama', enabled: false },
];

function configError(run: () => unknown): LlmChatError {
  try {
    run();
  } catch (error) {
    if (isLlmChatError(error)) return error;
    throw error;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

describe('ModelRegistry', () => {
  const registry = new ModelRegistry(models);

  it('applies defaults on get()', () => {
    expect(registry.get('gpt-4o')).toEqual({
      id: 'gpt-4o',
      model: 'gpt-4o',
      provider: 'openai',
      name: 'gpt-4o',
      providerName: 'OpenAI',
      contextWindow: 128_000,
      supportsStreaming: true,
      supportsFunctionCalling: true,
      supportsVision: false,
      enabled: true,
      apiKey: SECRET,
    });
    expect(registry.get('claude')).toMatchObject({
      model: 'claude-sonnet-4-5',
      name: 'Claude Sonnet',
      maxTokens: 1000,
    });
    expect(registry.get('azure').providerName).toBe('Azure OpenAI');
    expect(registry.get('local').providerName).toBe('My box');
  });

  it('refuses unknown and disabled models with MODEL_NOT_FOUND', () => {
    for (const id of ['nope', 'off']) {
      const error = configError(() => registry.get(id));
      expect(error.code).toBe('MODEL_NOT_FOUND');
      expect(error.message).toBe(`Model '${id}' is not available.`);
      expect(registry.has(id)).toBe(false);
    }
    expect(registry.has('gpt-4o')).toBe(true);
    expect(configError(() => registry.createProvider('off')).code).toBe('MODEL_NOT_FOUND');
  });

  it('lists enabled models in the gateway shape, without secrets', () => {
    const list = registry.list();
    expect(list.map((m) => m.id)).toEqual(['gpt-4o', 'claude', 'local', 'azure']);
    expect(list[1]).toEqual({
      id: 'claude',
      model_id: 'claude',
      model_name: 'Claude Sonnet',
      provider_id: 'anthropic',
      provider_name: 'Anthropic',
      provider_type: 'anthropic',
      supports_streaming: true,
      supports_function_calling: true,
      supports_vision: true,
    });
    const json = JSON.stringify(list);
    for (const secret of [SECRET, 'user:pw', '127.0.0.1', 'x.openai.azure.com', 'apiKey', 'headers', 'baseUrl']) {
      expect(json).not.toContain(secret);
    }
  });

  it('creates the right provider class per kind', () => {
    expect(registry.createProvider('claude')).toBeInstanceOf(AnthropicProvider);
    for (const id of ['gpt-4o', 'local', 'azure']) expect(registry.createProvider(id)).toBeInstanceOf(OpenAIProvider);
    expect(registry.createProvider('local').kind).toBe('openai_compatible');
    expect(registry.createProvider('azure').kind).toBe('azure_openai');
  });

  it('builds Cohere, watsonx and the Mistral/Groq/Together presets, with their display names', () => {
    const more = new ModelRegistry([
      { id: 'co', provider: 'cohere', apiKey: 'k' },
      { id: 'wx', provider: 'watsonx', apiKey: 'k', baseUrl: 'https://us-south.ml.cloud.ibm.com', spaceId: 's' },
      { id: 'mi', provider: 'mistral', apiKey: 'k' },
      { id: 'gr', provider: 'groq', apiKey: 'k' },
      { id: 'to', provider: 'together', apiKey: 'k' },
    ]);
    expect(more.createProvider('co')).toBeInstanceOf(CohereProvider);
    expect(more.createProvider('wx')).toBeInstanceOf(WatsonxProvider);
    expect(['mi', 'gr', 'to'].map((id) => more.createProvider(id).kind)).toEqual(['mistral', 'groq', 'together']);
    expect(more.list().map((model) => model.provider_name)).toEqual([
      'Cohere',
      'IBM watsonx.ai',
      'Mistral AI',
      'Groq',
      'Together AI',
    ]);
  });

  it('ModelRegistry.from keeps a registry and wraps an array', () => {
    expect(ModelRegistry.from(registry)).toBe(registry);
    expect(ModelRegistry.from([{ id: 'a', provider: 'openai' }]).has('a')).toBe(true);
  });

  it.each([
    ['an empty id', [{ id: '', provider: 'openai' }], /non-empty id/],
    [
      'a duplicate id',
      [
        { id: 'a', provider: 'openai' },
        { id: 'a', provider: 'anthropic' },
      ],
      /more than once/,
    ],
    ['an unknown provider', [{ id: 'a', provider: 'carrier-pigeon' }], /unknown provider/],
    ['a thinking budget under 1024', [{ id: 'a', provider: 'anthropic', thinkingBudgetTokens: 500 }], /thinkingBudget/],
    ['an unknown reasoning effort', [{ id: 'a', provider: 'openai', reasoningEffort: 'max' }], /reasoningEffort/],
    ['watsonx without baseUrl', [{ id: 'a', provider: 'watsonx', apiKey: 'k', projectId: 'p' }], /needs a baseUrl/],
    ['a non-http iamUrl', [{ id: 'a', provider: 'openai', iamUrl: 'file:///x' }], /iamUrl/],
    ['bedrock without a region', [{ id: 'a', provider: 'bedrock', credentials: async () => ({}) }], /region/],
    ['bedrock without credentials', [{ id: 'a', provider: 'bedrock', region: 'us-east-1' }], /credentials/],
    [
      'bedrock with half its credentials',
      [{ id: 'a', provider: 'bedrock', region: 'us-east-1', credentials: { accessKeyId: 'AKIDX' } }],
      /credentials/,
    ],
    [
      'vertex without a project',
      [{ id: 'a', provider: 'vertex', getAccessToken: async (): Promise<string> => 't' }],
      /project/,
    ],
    ['vertex without a token function', [{ id: 'a', provider: 'vertex', project: 'p' }], /getAccessToken/],
    [
      'vertex with a location that is no location',
      [
        {
          id: 'a',
          provider: 'vertex',
          project: 'p',
          location: 'x/../y',
          getAccessToken: async (): Promise<string> => 't',
        },
      ],
      /location/,
    ],
    ['openai_compatible without baseUrl', [{ id: 'a', provider: 'openai_compatible' }], /needs a baseUrl/],
    ['azure without baseUrl', [{ id: 'a', provider: 'azure_openai', deployment: 'd' }], /needs a baseUrl/],
    ['azure without deployment or model', [{ id: 'a', provider: 'azure_openai', baseUrl: 'https://x' }], /deployment/],
    ['a non-http baseUrl', [{ id: 'a', provider: 'openai', baseUrl: 'ftp://x' }], /http/],
    ['a temperature above 2', [{ id: 'a', provider: 'openai', temperature: 3 }], /temperature/],
    ['a zero maxTokens', [{ id: 'a', provider: 'openai', maxTokens: 0 }], /maxTokens/],
  ])('rejects %s with CONFIG_INVALID', (_name, config, pattern) => {
    const error = configError(() => new ModelRegistry(config as ModelConfig[]));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(pattern);
  });

  it('never puts an apiKey in a validation message', () => {
    const error = configError(
      () => new ModelRegistry([{ id: 'a', provider: 'openai_compatible', apiKey: SECRET } as ModelConfig]),
    );
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(SECRET);
  });
});

describe('createLlmProvider', () => {
  let fake: FakeLlmServer;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: { kind: 'text', chunks: ['via registry'] } });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('passes the model config through: base URL, key, headers and default temperature', async () => {
    const registry = new ModelRegistry([
      {
        id: 'mine',
        model: 'llama3.1',
        provider: 'openai_compatible',
        baseUrl: fake.url,
        apiKey: 'k-123456',
        headers: { 'x-org': 'acme' },
        temperature: 0.2,
      },
    ]);
    const provider = createLlmProvider(registry.get('mine'), { retryDelayMs: 1 });
    const events = await collect(provider.stream({ model: 'llama3.1', messages: [{ role: 'user', content: 'x' }] }));
    expect(textOf(events)).toBe('via registry');
    const [request] = fake.requests;
    expect(request?.headers.authorization).toBe('Bearer k-123456');
    expect(request?.headers['x-org']).toBe('acme');
    expect(request?.body.temperature).toBe(0.2);
    expect(request?.body.model).toBe('llama3.1');
  });
});
