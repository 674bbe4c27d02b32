import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import type { LlmProvider, LlmRequest } from '../../src/llm/llm-provider.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import type { LlmProviderRuntimeOptions } from '../../src/llm/provider-http.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';
import type { FakeLlmServer } from '../fixtures/fake-llm-common.js';
import { startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { collect, collectFailure, expectSecretAbsent, FAST, textOf } from './helpers.js';

const KEY = 'sk-test-SECRET-123';
const hi: LlmRequest = { model: 'm', messages: [{ role: 'user', content: 'Hi' }] };

interface Target {
  name: string;
  start: () => Promise<FakeLlmServer>;
  make: (fake: FakeLlmServer, options?: LlmProviderRuntimeOptions) => LlmProvider;
}

// The failure handling is shared; both providers must show it over their real formats.
const formats: Target[] = [
  {
    name: 'openai',
    start: () => startFakeOpenAI(),
    make: (fake, options = FAST) =>
      new OpenAIProvider(
        { kind: 'openai', baseUrl: fake.url, apiKey: KEY, headers: { 'x-extra': 'hdr-SECRET-456' } },
        options,
      ),
  },
  {
    name: 'anthropic',
    start: () => startFakeAnthropic(),
    make: (fake, options = FAST) => new AnthropicProvider({ baseUrl: fake.url, apiKey: KEY }, options),
  },
];

// And over both transports: undici (the default) and a host's fetch. Options a test gives win.
const hostFetch: typeof fetch = (input, init) => globalThis.fetch(input, init);
const targets: Target[] = formats.flatMap((format) => [
  { ...format, name: `${format.name} over undici` },
  {
    ...format,
    name: `${format.name} over a host's fetch`,
    make: (fake, options = FAST) => format.make(fake, { fetch: hostFetch, ...options }),
  },
]);

describe.each(targets)('$name provider failures', ({ start, make }) => {
  let fake: FakeLlmServer;
  beforeAll(async () => {
    fake = await start();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
  });

  it('401 → PROVIDER_AUTH, not retried, and the key appears nowhere in the error', async () => {
    fake.reply({ kind: 'http_error', status: 401, message: `Incorrect API key provided: ${KEY}` });
    const { error } = await collectFailure(make(fake).stream(hi));
    expect(error.code).toBe('PROVIDER_AUTH');
    expect(error.details).toMatchObject({ status: 401 });
    expect(fake.requests).toHaveLength(1);
    expectSecretAbsent(error, KEY);
    expectSecretAbsent(error, 'hdr-SECRET-456');
  });

  it('403 → PROVIDER_AUTH', async () => {
    fake.reply({ kind: 'http_error', status: 403 });
    const { error } = await collectFailure(make(fake).stream(hi));
    expect(error.code).toBe('PROVIDER_AUTH');
  });

  it('other 4xx → PROVIDER_ERROR with the provider message, redacted, and no retry', async () => {
    fake.reply({ kind: 'http_error', status: 400, message: `max_tokens is too large (key ${KEY})` });
    const { error } = await collectFailure(make(fake).stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toContain('max_tokens is too large');
    expect(fake.requests).toHaveLength(1);
    expectSecretAbsent(error, KEY);
  });

  it('429 with Retry-After, then success: waits and retries', async () => {
    fake.reply([
      { kind: 'http_error', status: 429, retryAfter: 1 },
      { kind: 'text', chunks: ['after', ' wait'] },
    ]);
    const started = Date.now();
    const events = await collect(make(fake).stream(hi));
    expect(textOf(events)).toBe('after wait');
    expect(fake.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('429 forever → PROVIDER_RATE_LIMITED with retryAfterMs after maxRetries', async () => {
    fake.reply({ kind: 'http_error', status: 429, retryAfter: 0 });
    const { error } = await collectFailure(make(fake, { ...FAST, maxRetries: 2 }).stream(hi));
    expect(error.code).toBe('PROVIDER_RATE_LIMITED');
    expect(error.retryAfterMs).toBe(0);
    expect(fake.requests).toHaveLength(3);
  });

  it('429 with a Retry-After above maxRetryAfterMs gives up at once', async () => {
    fake.reply({ kind: 'http_error', status: 429, retryAfter: 120 });
    const { error } = await collectFailure(make(fake, { ...FAST, maxRetryAfterMs: 5_000 }).stream(hi));
    expect(error.code).toBe('PROVIDER_RATE_LIMITED');
    expect(error.retryAfterMs).toBe(120_000);
    expect(fake.requests).toHaveLength(1);
  });

  it('500 → retried with backoff, then PROVIDER_ERROR', async () => {
    fake.reply({ kind: 'http_error', status: 500 });
    const { error } = await collectFailure(make(fake, { ...FAST, maxRetries: 2 }).stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.details).toMatchObject({ status: 500 });
    expect(fake.requests).toHaveLength(3);
  });

  it('503 then success is invisible to the caller', async () => {
    fake.reply([
      { kind: 'http_error', status: 503 },
      { kind: 'text', chunks: ['fine'] },
    ]);
    expect(textOf(await collect(make(fake).stream(hi)))).toBe('fine');
    expect(fake.requests).toHaveLength(2);
    // The retry sends the body again, whole (it is let go only once an event is out).
    expect(fake.requests[1]?.body).toEqual(fake.requests[0]?.body);
    expect(JSON.stringify(fake.requests[1]?.body)).toContain('"Hi"');
  });

  it('a long prompt (sent apart from a short one) is sent again whole on a retry', async () => {
    fake.reply([
      { kind: 'http_error', status: 503 },
      { kind: 'text', chunks: ['fine'] },
    ]);
    const long: LlmRequest = { model: 'm', messages: [{ role: 'user', content: 'é'.repeat(40_000) }] };
    expect(textOf(await collect(make(fake).stream(long)))).toBe('fine');
    expect(fake.requests).toHaveLength(2);
    for (const request of fake.requests) {
      expect(JSON.stringify(request.body)).toContain('é'.repeat(40_000));
    }
  });

  it('a stream cut after tokens were streamed is PROVIDER_ERROR and is not retried', async () => {
    fake.reply({ kind: 'text', chunks: ['one', 'two', 'three', 'four'], cutAfter: 4 });
    const { events, error } = await collectFailure(make(fake).stream(hi));
    expect(events.some((e) => e.type === 'text')).toBe(true);
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(fake.requests).toHaveLength(1);
  });

  it('a connection dropped before any output is retried', async () => {
    fake.reply([
      { kind: 'text', chunks: ['x'], cutAfter: 0 },
      { kind: 'text', chunks: ['recovered'] },
    ]);
    expect(textOf(await collect(make(fake).stream(hi)))).toBe('recovered');
    expect(fake.requests).toHaveLength(2);
  });

  it('a malformed data line → PROVIDER_ERROR', async () => {
    fake.reply({ kind: 'malformed', before: ['ok'] });
    const { error } = await collectFailure(make(fake).stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toMatch(/malformed/);
  });

  it('no response headers within firstChunkTimeoutMs → TIMEOUT, and the request is really aborted', async () => {
    fake.reply({ kind: 'stall', phase: 'before_headers' });
    const { error } = await collectFailure(make(fake, { ...FAST, firstChunkTimeoutMs: 150 }).stream(hi));
    expect(error.code).toBe('TIMEOUT');
    await fake.requests[0]?.settled;
    expect(fake.requests[0]?.aborted).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });

  it('headers but no first chunk within firstChunkTimeoutMs → TIMEOUT', async () => {
    fake.reply({ kind: 'stall', phase: 'after_headers' });
    const started = Date.now();
    const { error } = await collectFailure(make(fake, { ...FAST, firstChunkTimeoutMs: 150 }).stream(hi));
    expect(error.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_000);
    await fake.requests[0]?.settled;
    expect(fake.requests[0]?.aborted).toBe(true);
  });

  it('a stream that stalls mid-way hits totalTimeoutMs → TIMEOUT', async () => {
    fake.reply({ kind: 'text', chunks: ['a', 'b', 'c'], stallAfter: 4 });
    const { events, error } = await collectFailure(
      make(fake, { ...FAST, firstChunkTimeoutMs: 5_000, totalTimeoutMs: 300 }).stream(hi),
    );
    expect(events.length).toBeGreaterThan(0);
    expect(error.code).toBe('TIMEOUT');
  });

  it('caller abort mid-stream → ABORTED within 100 ms, and the server sees the request aborted', async () => {
    fake.reply({ kind: 'text', chunks: Array.from({ length: 50 }, (_, i) => `t${i} `), delayMs: 50 });
    const controller = new AbortController();
    const stream = make(fake).stream(hi, { signal: controller.signal });
    let abortedAt = 0;
    const { events, error } = await collectFailure(
      (async function* () {
        for await (const event of stream) {
          yield event;
          if (event.type === 'text' && abortedAt === 0) {
            abortedAt = Date.now();
            controller.abort();
          }
        }
      })(),
    );
    expect(Date.now() - abortedAt).toBeLessThan(100);
    expect(error.code).toBe('ABORTED');
    expect(events.filter((e) => e.type === 'text')).toHaveLength(1);
    await fake.requests[0]?.settled;
    expect(fake.requests[0]?.aborted).toBe(true);
    expect(fake.requests[0]?.finished).toBe(false);
  });

  it('caller abort while waiting to retry → ABORTED at once, with no second request', async () => {
    // Retry-After: 1 s, so without the abort the call would wait a whole second.
    fake.reply({ kind: 'http_error', status: 429, retryAfter: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const { error } = await collectFailure(make(fake).stream(hi, { signal: controller.signal }));
    expect(error.code).toBe('ABORTED');
    expect(Date.now() - started).toBeLessThan(800);
    expect(fake.requests).toHaveLength(1);
  });

  it('totalTimeoutMs while waiting to retry → TIMEOUT, with no second request', async () => {
    fake.reply({ kind: 'http_error', status: 429, retryAfter: 1 });
    const started = Date.now();
    const { error } = await collectFailure(make(fake, { ...FAST, totalTimeoutMs: 200 }).stream(hi));
    expect(error.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(800);
    expect(fake.requests).toHaveLength(1);
  });

  it('a signal aborted before the call → ABORTED without any request', async () => {
    const { error } = await collectFailure(make(fake).stream(hi, { signal: AbortSignal.abort() }));
    expect(error.code).toBe('ABORTED');
    expect(fake.requests).toHaveLength(0);
  });

  it('breaking out of the loop early closes the HTTP request', async () => {
    fake.reply({ kind: 'text', chunks: Array.from({ length: 20 }, () => 'x'), delayMs: 30 });
    for await (const event of make(fake).stream(hi)) {
      if (event.type === 'text') break;
    }
    await fake.requests[0]?.settled;
    expect(fake.requests[0]?.aborted).toBe(true);
  });
});

describe('provider connection failures', () => {
  it('an unreachable server → PROVIDER_ERROR after retries, with an injected fetch counting attempts', async () => {
    let calls = 0;
    const warnings: { message: string; meta?: Record<string, unknown> }[] = [];
    const failingFetch = async () => {
      calls++;
      throw new TypeError('fetch failed');
    };
    const provider = new OpenAIProvider(
      { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: KEY },
      {
        ...FAST,
        fetch: failingFetch,
        maxRetries: 3,
        logger: { warn: (message, meta) => warnings.push({ message, meta }) },
      },
    );
    const { error } = await collectFailure(provider.stream(hi));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(calls).toBe(4);
    expectSecretAbsent(error, KEY);
    expect(warnings.map((w) => w.meta?.attempt)).toEqual([1, 2, 3]);
    expect(JSON.stringify(warnings)).not.toContain(KEY);
  });
});

describe('a provider that redirects', () => {
  // The redirect target stands for any host the provider (or whoever answers at its URL) points
  // to: it must never see the request, whose x-api-key fetch would carry across origins.
  let target: Server;
  let redirector: Server;
  const seenByTarget: IncomingHttpHeaders[] = [];
  let redirected = 0;
  beforeAll(async () => {
    target = createServer((request, response) => {
      seenByTarget.push(request.headers);
      response.writeHead(200, { 'content-type': 'text/event-stream' }).end();
    });
    const targetUrl = await listenOnLoopback(target);
    redirector = createServer((request, response) => {
      redirected++;
      request.resume();
      response.writeHead(307, { location: `${targetUrl}${request.url}` }).end();
    });
    await listenOnLoopback(redirector);
  });
  afterAll(async () => {
    await Promise.all([target, redirector].map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it.each(targets)(
    '$name: PROVIDER_ERROR naming the redirect, not retried, and the target never called',
    async ({ make }) => {
      redirected = 0;
      seenByTarget.length = 0;
      const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
      const provider = make({ url } as FakeLlmServer, { ...FAST, maxRetries: 3 });
      const { error } = await collectFailure(provider.stream(hi));
      expect(error.code).toBe('PROVIDER_ERROR');
      expect(error.message).toMatch(/redirect/);
      expect(redirected).toBe(1);
      expect(seenByTarget).toEqual([]);
      expectSecretAbsent(error, KEY);
    },
  );
});

async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("a host's fetch and the attempt's abort", () => {
  let fake: FakeLlmServer;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await fake.close();
  });

  // Over the library's own transport an attempt is aborted through a flag (no AbortSignal is
  // made); a host's fetch still gets a real signal, which aborts with the attempt.
  it('gets a real AbortSignal that aborts when the caller stops the call mid-stream', async () => {
    fake.reply({ kind: 'text', chunks: Array.from({ length: 50 }, (_, i) => `t${i} `), delayMs: 50 });
    const signals: AbortSignal[] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      if (init?.signal) signals.push(init.signal);
      return globalThis.fetch(input, init);
    };
    const controller = new AbortController();
    const provider = formats[0]?.make(fake, { ...FAST, fetch: recordingFetch }) as LlmProvider;
    const { error } = await collectFailure(
      (async function* () {
        for await (const event of provider.stream(hi, { signal: controller.signal })) {
          yield event;
          if (event.type === 'text') controller.abort();
        }
      })(),
    );
    expect(error.code).toBe('ABORTED');
    expect(signals).toHaveLength(1);
    expect(signals[0]).toBeInstanceOf(AbortSignal);
    expect(signals[0]?.aborted).toBe(true);
    // Aborted by the stop itself (an AbortError), not only by the attempt's end afterwards.
    expect(signals[0]?.reason).toBeInstanceOf(DOMException);
    expect((signals[0]?.reason as DOMException | undefined)?.name).toBe('AbortError');
  });

  it('gets a real AbortSignal that aborts on the first-chunk timeout', async () => {
    fake.reply({ kind: 'stall', phase: 'before_headers' });
    const signals: AbortSignal[] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      if (init?.signal) signals.push(init.signal);
      return globalThis.fetch(input, init);
    };
    const provider = formats[0]?.make(fake, {
      ...FAST,
      maxRetries: 0,
      firstChunkTimeoutMs: 100,
      fetch: recordingFetch,
    }) as LlmProvider;
    const { error } = await collectFailure(provider.stream(hi));
    expect(error.code).toBe('TIMEOUT');
    expect(signals[0]).toBeInstanceOf(AbortSignal);
    expect(signals[0]?.aborted).toBe(true);
    expect((signals[0]?.reason as DOMException | undefined)?.name).toBe('AbortError');
    // And the host's fetch heard it: the server saw the request cut.
    await fake.requests[0]?.settled;
    expect(fake.requests[0]?.aborted).toBe(true);
  });
});
