import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatHandler } from '../../src/http/chat-handler.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import type { FakeLlmServer, Responder } from '../fixtures/fake-llm-common.js';
import type { ProviderUnderTest } from '../fixtures/providers.js';
import { parseSseText, type SseFrame } from '../fixtures/sse-reader.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { bearerUser, SECRETS, type Stack, startStack } from './stack.js';

/** A host with the handler mounted at `/llmchat`. */
export interface MountedHost {
  /** `http://127.0.0.1:PORT/llmchat` */
  baseUrl: string;
  /** Sends requests without a socket (`handler.fetch`); default: the global `fetch`. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  close(): Promise<void>;
}

/** Mounts a handler in one host (a framework or a bare server) on port 0. */
export type Mount = (handler: ChatHandler) => Promise<MountedHost>;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: scenario assertions dig into bodies freely.
  json: any;
}

/**
 * The one HTTP scenario suite every host runs: every route, every error status, SSE frames in
 * order with increasing ids, the user-id rule, a client leaving mid-stream, and a scan of every
 * response for the stack's secrets.
 */
export function runHttpScenarios(hostName: string, mount: Mount, options: { hostParsesBody?: boolean } = {}): void {
  describe(`HTTP scenarios: ${hostName}`, () => {
    let stack: Stack;
    let host: MountedHost;
    const seen: string[] = [];

    async function call(
      path: string,
      init: { user?: string | null; body?: unknown; method?: string; headers?: Record<string, string> } = {},
    ): Promise<Answer> {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
      const user = init.user === undefined ? 'alice' : init.user;
      if (user) headers.authorization = `Bearer user:${user}`;
      const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
      const response = await fetch(`${host.baseUrl}${path}`, {
        method,
        headers,
        ...(init.body === undefined
          ? {}
          : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
      });
      const text = await response.text();
      seen.push(text, JSON.stringify([...response.headers]));
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    }

    const events = parseSseText;

    const connect = (user = 'alice', llm: Record<string, unknown> = { model: 'fake' }) =>
      call('/connect', { user, body: { user_id: user, llm, streaming: true } });

    beforeAll(async () => {
      stack = await startStack();
      host = await mount(stack.handler);
    });

    afterAll(async () => {
      await host?.close();
      await stack?.close();
      // No response body or header ever held the API key or the MCP token.
      const all = seen.join('\n');
      expect(all).not.toContain(SECRETS.apiKey);
      expect(all).not.toContain(SECRETS.mcpToken);
    });

    it('lists the models without secrets', async () => {
      const answer = await call('/gateway/models');
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({
        models: [
          {
            id: 'fake',
            model_id: 'fake',
            model_name: 'Fake model',
            provider_id: 'openai_compatible',
            provider_name: expect.any(String),
            provider_type: 'openai_compatible',
            supports_streaming: true,
            supports_function_calling: true,
            supports_vision: false,
          },
        ],
        count: 1,
      });
      expect(answer.text).not.toContain(stack.llm.url);
    });

    it('answers 401 on every route without a user', async () => {
      for (const [path, body] of [
        ['/connect', { llm: { model: 'fake' } }],
        ['/chat', { message: 'hi' }],
        ['/disconnect', {}],
        ['/status/alice', undefined],
        ['/config/alice', undefined],
        ['/gateway/models', undefined],
      ] as const) {
        const answer = await call(path, { user: null, body });
        expect(answer.status, path).toBe(401);
        expect(answer.json, path).toEqual({ detail: 'Authentication required.', code: 'UNAUTHORIZED' });
      }
    });

    it('answers unknown paths with a JSON 404 and wrong methods with 405', async () => {
      const missing = await call('/nope');
      expect(missing.status).toBe(404);
      expect(missing.json.code).toBe('NOT_FOUND');
      const wrong = await call('/connect', { method: 'GET' });
      expect(wrong.status).toBe(405);
      expect(wrong.json.code).toBe('METHOD_NOT_ALLOWED');
      expect(wrong.headers.get('allow')).toBe('POST');
    });

    it('connects and lists the tools', async () => {
      const answer = await connect();
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ status: 'connected', user_id: 'alice', provider: 'openai_compatible' });
      expect(answer.json.tools).toContain('add');
      expect(answer.json.tool_count).toBe(answer.json.tools.length);
    });

    it('refuses bad connect requests with the contract’s statuses and codes', async () => {
      const cases: Array<[unknown, number, string, RegExp?]> = [
        [{ llm: { model: 'gpt-nope' } }, 400, 'MODEL_NOT_FOUND'],
        [{ llm: { model: 'off' } }, 400, 'MODEL_NOT_FOUND'],
        [{ llm: { model: 'fake' }, server: { url: 'http://127.0.0.1:1/mcp' } }, 400, 'SERVER_NOT_ALLOWED'],
        [{ llm: { model: 'fake' }, server: { url: 'file:///etc/passwd' } }, 400, 'SERVER_NOT_ALLOWED'],
        [
          { llm: { model: 'fake' }, server: { url: `${stack.mcp.url.replace('//', '//u:p@')}` } },
          400,
          'SERVER_NOT_ALLOWED',
        ],
        [{ llm: { model: 'fake' }, server: { transport: 'stdio' } }, 400, 'SERVER_NOT_ALLOWED'],
        [
          { llm: { model: 'fake' }, server: { transport: 'carrier-pigeon' } },
          422,
          'VALIDATION_FAILED',
          /server\.transport/,
        ],
        [{ llm: { model: 'fake', temperature: 3 } }, 422, 'VALIDATION_FAILED', /llm\.temperature/],
        // A token no HTTP client can send: the client's mistake, not an MCP server that is down.
        [
          { llm: { model: 'fake' }, server: { auth_token: 'sk-secret\r\nX-Injected: 1' } },
          422,
          'VALIDATION_FAILED',
          /^server\.auth_token: must not contain line breaks/,
        ],
        [{ llm: { model: 'fake', max_tokens: 0 } }, 422, 'VALIDATION_FAILED', /llm\.max_tokens/],
        [{ llm: {} }, 422, 'VALIDATION_FAILED', /llm\.model/],
        [{ user_id: 'mallory', llm: { model: 'fake' } }, 403, 'FORBIDDEN'],
      ];
      for (const [body, status, code, detail] of cases) {
        const answer = await call('/connect', { body });
        expect([answer.status, answer.json?.code], JSON.stringify(body)).toEqual([status, code]);
        if (detail) expect(answer.json.detail).toMatch(detail);
        expect(answer.text).not.toContain('sk-secret');
      }
      // A host's own body parser answers these itself, in its own way.
      if (options.hostParsesBody) return;
      const malformed = await call('/connect', { body: '{"llm": ' });
      expect([malformed.status, malformed.json?.code]).toEqual([422, 'VALIDATION_FAILED']);
      expect(malformed.json.detail).toMatch(/JSON/);
      const huge = await call('/connect', { body: { llm: { model: 'fake' }, pad: 'x'.repeat(1_100_000) } });
      expect([huge.status, huge.json?.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    });

    it('streams a chat turn with a tool call as SSE frames with increasing ids', async () => {
      await connect();
      const answer = await call('/chat', { body: { message: 'please add 2 and 3', streaming: true } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(answer.headers.get('cache-control')).toBe('no-cache, no-transform');
      expect(answer.headers.get('x-accel-buffering')).toBe('no');
      const frames = events(answer.text);
      // Tokens that reach us in one network chunk travel as one frame, so count them loosely.
      const names = frames.map((f) => f.event);
      expect(names.slice(0, 2)).toEqual(['tool_start', 'tool_end']);
      expect(names.at(-1)).toBe('final');
      expect(new Set(names.slice(2, -1))).toEqual(new Set(['token']));
      const tokens = frames.filter((f) => f.event === 'token');
      // Ids name the turn and the position in it: `<turnId>:<seq>`, seq counting from 1.
      const turnId = answer.headers.get('x-turn-id');
      expect(turnId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
      expect(frames.map((f) => f.id)).toEqual(frames.map((_, i) => `${turnId}:${i + 1}`));
      expect(frames.at(-1)?.data.turn_id).toBe(turnId);
      expect(frames[0]?.data).toMatchObject({ type: 'tool_start', tool: 'add', input: { a: 2, b: 3 } });
      expect(frames[1]?.data).toMatchObject({ type: 'tool_end', tool: 'add', output: '5', id: frames[0]?.data.id });
      // Exactly the gateway's token shape: `content` only, no `type`.
      for (const token of tokens) expect(Object.keys(token.data)).toEqual(['content']);
      expect(tokens.map((t) => t.data.content).join('')).toBe('The result is 5.');
      expect(frames.at(-1)?.data).toMatchObject({
        type: 'final',
        content: 'The result is 5.',
        tool_used: true,
        tools: ['add'],
      });
    });

    it('answers a non-streaming chat in the gateway’s JSON shape, seeing the history', async () => {
      const answer = await call('/chat', { body: { message: 'hello?' } });
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({
        user_id: 'alice',
        response: 'Hello from the fake.',
        tool_used: false,
        tools: [],
        tool_invocations: [],
      });
      expect(Number.isInteger(answer.json.elapsed_ms)).toBe(true);
      // The LLM saw the previous turn, tool call and result included.
      const lastRequest = stack.llm.requests.at(-1)?.body;
      expect(lastRequest.messages.map((m: { role: string }) => m.role)).toEqual([
        'user',
        'assistant',
        'tool',
        'assistant',
        'user',
      ]);
    });

    it('refuses chats without a session, blank messages and other users’ ids', async () => {
      const none = await call('/chat', { user: 'bob', body: { message: 'hi' } });
      expect([none.status, none.json.code]).toEqual([400, 'SESSION_NOT_FOUND']);
      expect(none.json.detail).toMatch(/^No active session found/);
      const blank = await call('/chat', { body: { message: '   ' } });
      expect([blank.status, blank.json.detail]).toEqual([400, 'Message cannot be empty']);
      const other = await call('/chat', { body: { user_id: 'bob', message: 'hi' } });
      expect([other.status, other.json.detail]).toEqual([403, 'User ID mismatch.']);
      const wrongType = await call('/chat', { body: { message: 42 } });
      expect([wrongType.status, wrongType.json.code]).toEqual([422, 'VALIDATION_FAILED']);
      expect(wrongType.json.detail).toMatch(/^message/);
    });

    it('answers 409 to a second turn while one runs; a client leaving does not stop the turn, which ends and frees the lock', async () => {
      await connect('carol');
      const controller = new AbortController();
      const first = await fetch(`${host.baseUrl}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer user:carol' },
        body: JSON.stringify({ message: 'talk slowly but briefly', streaming: true }),
        signal: controller.signal,
      });
      expect(first.status).toBe(200);
      const reader = (first.body as ReadableStream<Uint8Array>).getReader();
      const firstChunk = await reader.read();
      expect(new TextDecoder().decode(firstChunk.value)).toContain('event: token');

      const second = await call('/chat', { user: 'carol', body: { message: 'me too', streaming: true } });
      expect([second.status, second.json.code]).toEqual([409, 'TURN_IN_PROGRESS']);

      const llmRequest = stack.llm.requests.at(-1);
      controller.abort();
      await llmRequest?.settled;
      // The turn outlives its first reader: the LLM answered to the end (CONTRACT §3, since 0.2).
      expect(llmRequest?.aborted).toBe(false);
      // The lock is released once the turn has ended.
      await expect
        .poll(async () => (await call('/chat', { user: 'carol', body: { message: 'hi again' } })).status, {
          timeout: 15_000,
        })
        .toBe(200);
    });

    it('resumes a turn with Last-Event-ID after the client left, and stops it with POST /stop', async () => {
      await connect('erin');
      const controller = new AbortController();
      const first = await fetch(`${host.baseUrl}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer user:erin' },
        body: JSON.stringify({ message: 'talk slowly', streaming: true }),
        signal: controller.signal,
      });
      const turnId = first.headers.get('x-turn-id');
      const reader = (first.body as ReadableStream<Uint8Array>).getReader();
      const seen = events(new TextDecoder().decode((await reader.read()).value));
      controller.abort();
      const lastId = seen.at(-1)?.id as string;
      expect(lastId).toMatch(new RegExp(`^${turnId}:\\d+$`));

      const resumed = fetch(`${host.baseUrl}/chat/events/erin`, {
        headers: { authorization: 'Bearer user:erin', 'last-event-id': lastId },
      }).then(async (response) => ({ status: response.status, text: await response.text() }));
      const stopped = await call('/stop', { user: 'erin', body: {} });
      expect(stopped.json).toEqual({ status: 'stopped', user_id: 'erin', turn_id: turnId });
      const rest = await resumed;
      expect(rest.status).toBe(200);
      const after = events(rest.text);
      const position = (id: string | undefined) => Number(id?.split(':')[1]);
      expect(after.map((frame) => position(frame.id))).toEqual(after.map((_, i) => position(lastId) + i + 1));
      expect(after.at(-1)).toMatchObject({ event: 'final', data: { stopped: true, turn_id: turnId } });
      const text = [...seen, ...after]
        .filter((f) => f.event === 'token')
        .map((f) => f.data.content)
        .join('');
      expect(after.at(-1)?.data.content).toBe(text);
    });

    it('reports status, masked config, and disconnects idempotently', async () => {
      await connect('dave', { model: 'fake', temperature: 0.5 });
      const status = await call('/status/dave', { user: 'dave' });
      expect(status.json).toEqual({ user_id: 'dave', connected: true });
      const foreign = await call('/status/alice', { user: 'dave' });
      expect(foreign.status).toBe(403);

      const config = await call('/config/dave', { user: 'dave' });
      expect(config.status).toBe(200);
      expect(config.json).toMatchObject({
        mcp_server: { url: stack.mcp.url, transport: 'streamable_http', auth_token: '*****' },
        llm: { provider: 'openai_compatible', config: { model: 'fake', temperature: 0.5 } },
        enable_streaming: true,
      });
      expect(config.text).not.toContain(SECRETS.mcpToken);
      expect((await call('/config/alice', { user: 'dave' })).status).toBe(403);

      const bye = await call('/disconnect', { user: 'dave', body: {} });
      expect(bye.json).toMatchObject({ status: 'disconnected', user_id: 'dave' });
      const again = await call('/disconnect', { user: 'dave', body: {} });
      expect(again.json).toMatchObject({ status: 'no_active_session', user_id: 'dave' });
      expect((await call('/status/dave', { user: 'dave' })).json.connected).toBe(false);
      const gone = await call('/config/dave', { user: 'dave' });
      expect([gone.status, gone.json.detail]).toEqual([404, 'No config found for this user.']);
      const chat = await call('/chat', { user: 'dave', body: { message: 'hi' } });
      expect(chat.json.code).toBe('SESSION_NOT_FOUND');
    });

    it('leaves the working session in place when a reconnect fails', async () => {
      await connect('erin');
      await stack.mcp.stop();
      try {
        const failed = await connect('erin');
        expect([failed.status, failed.json.code]).toEqual([503, 'MCP_UNAVAILABLE']);
      } finally {
        await stack.mcp.start();
      }
      const status = await call('/status/erin', { user: 'erin' });
      expect(status.json.connected).toBe(true);
      const chat = await call('/chat', { user: 'erin', body: { message: 'add 1 and 1' } });
      expect(chat.status).toBe(200);
      expect(chat.json.response).toBe('The result is 2.');
    });
  });
}

/** A provider's fake, a real MCP server and a handler over them. */
interface ProviderStack {
  llm: FakeLlmServer;
  mcp: TestMcpHttpServer;
  handler: ChatHandler;
  close(): Promise<void>;
}

/**
 * How every provider's fake answers, by what the last turn of the request said (read in that
 * provider's format by {@link ProviderUnderTest.lastTurn}):
 * - tool results → `The result is R.` (one) or `The results are R1 and R2.` (several);
 * - "add A and B" (once or more) → one `add` call per pair, in parallel;
 * - "slowly" → a long answer, a chunk every 20 ms; "rate limit" → 429; "break" → text, then the
 *   provider's in-stream error;
 * - anything else → "Hello from the fake."
 */
export function providerReply(provider: ProviderUnderTest): Responder {
  return (request) => {
    const turn = provider.lastTurn(request);
    if (turn.kind === 'tool_results') {
      return turn.results.length === 1
        ? { kind: 'text', chunks: ['The result', ` is ${turn.results[0]}.`] }
        : { kind: 'text', chunks: ['The results', ` are ${turn.results.join(' and ')}.`] };
    }
    const pairs = [...turn.text.matchAll(/add (\d+) and (\d+)/gi)];
    if (pairs.length > 0) {
      return {
        kind: 'tool_calls',
        calls: pairs.map((pair) => ({ name: 'add', arguments: { a: Number(pair[1]), b: Number(pair[2]) } })),
      };
    }
    if (/slowly/i.test(turn.text)) {
      return { kind: 'text', chunks: Array.from({ length: 200 }, (_, i) => `w${i} `), delayMs: 20 };
    }
    if (/rate limit/i.test(turn.text)) return { kind: 'http_error', status: 429, retryAfter: 0 };
    if (/break/i.test(turn.text)) return { kind: 'error_event', before: ['Partial'] };
    return { kind: 'text', chunks: ['Hello', ' from', ' the fake.'] };
  };
}

function providerHandler(
  provider: ProviderUnderTest,
  llm: FakeLlmServer,
  mcp: TestMcpHttpServer,
  extra: { maxToolRounds?: number } = {},
): ChatHandler {
  return createChatHandler({
    authenticate: bearerUser,
    models: [
      { ...provider.model(llm, { id: 'main' }), name: 'Main model' },
      provider.model(llm, { id: 'refused', credentials: 'wrong' }),
    ],
    mcp: { defaultServer: { url: mcp.url, authToken: SECRETS.mcpToken }, allowedUrls: [mcp.url] },
    keepAliveMs: 0,
    llm: { retryDelayMs: 1 },
    // The 0.1 rule, so "the client leaves" reaches the provider as an abort (since 0.2 a turn
    // outlives its reader unless the host asks for this).
    stopOnDisconnect: true,
    ...extra,
  });
}

async function startProviderStack(provider: ProviderUnderTest): Promise<ProviderStack> {
  const llm = await provider.start(providerReply(provider));
  const mcp = await startTestMcpHttpServer({ authToken: SECRETS.mcpToken });
  const handler = providerHandler(provider, llm, mcp);
  return {
    llm,
    mcp,
    handler,
    async close() {
      await handler.close();
      await Promise.all([llm.close(), mcp.close()]);
    },
  };
}

/**
 * The chat scenarios every provider runs, through one host: a plain answer, a tool call, parallel
 * tool calls and the history after them, a last round with the tools withheld, a rate limit, a stream broken mid-way, refused
 * credentials, and a turn stopped mid-stream (the provider request is aborted). No response
 * may hold one of the provider's secrets.
 */
export function runProviderChatScenarios(provider: ProviderUnderTest, hostName: string, mount: Mount): void {
  describe(`chat scenarios: ${provider.name ?? provider.id} via ${hostName}`, () => {
    let stack: ProviderStack;
    let host: MountedHost;
    const seen: string[] = [];

    async function send(path: string, user: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
      const init: RequestInit = {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      };
      return host.fetch ? host.fetch(`${host.baseUrl}${path}`, init) : fetch(`${host.baseUrl}${path}`, init);
    }

    async function call(path: string, user: string, body?: unknown): Promise<Answer> {
      const response = await send(path, user, body);
      const text = await response.text();
      seen.push(text);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    }

    async function stream(user: string, message: string): Promise<SseFrame[]> {
      const answer = await call('/chat', user, { message, streaming: true });
      expect(answer.status).toBe(200);
      return parseSseText(answer.text);
    }

    const tokens = (events: SseFrame[]) =>
      events
        .filter((e) => e.event === 'token')
        .map((e) => e.data.content)
        .join('');

    async function connect(user: string, model = 'main'): Promise<void> {
      const answer = await call('/connect', user, { llm: { model }, streaming: true });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json.provider).toBe(provider.id);
    }

    beforeAll(async () => {
      stack = await startProviderStack(provider);
      host = await mount(stack.handler);
    });

    afterAll(async () => {
      await host?.close();
      await stack?.close();
      const all = seen.join('\n');
      for (const secret of provider.secrets) expect(all).not.toContain(secret);
    });

    it('lists the model under its provider, without secrets', async () => {
      const answer = await call('/gateway/models', 'ann');
      expect(answer.json.models[0]).toMatchObject({ id: 'main', provider_id: provider.id, provider_type: provider.id });
      expect(answer.text).not.toContain(stack.llm.origin);
    });

    it('streams a plain answer with its usage', async () => {
      await connect('ann');
      const events = await stream('ann', 'hello');
      expect(tokens(events)).toBe('Hello from the fake.');
      expect(events.at(-1)).toMatchObject({
        event: 'final',
        data: { content: 'Hello from the fake.', tool_used: false, usage: { input_tokens: 10, output_tokens: 5 } },
      });
    });

    it('streams a turn with a tool call, the result fed back in the provider’s format', async () => {
      await connect('ben');
      const events = await stream('ben', 'please add 2 and 3');
      const names = events.map((e) => e.event);
      expect(names.slice(0, 2)).toEqual(['tool_start', 'tool_end']);
      expect(events[0]?.data).toMatchObject({ tool: 'add', input: { a: 2, b: 3 } });
      expect(events[1]?.data).toMatchObject({ tool: 'add', output: '5', id: events[0]?.data.id });
      expect(tokens(events)).toBe('The result is 5.');
      expect(events.at(-1)?.data).toMatchObject({ type: 'final', content: 'The result is 5.', tool_used: true });
    });

    it('runs parallel tool calls, then answers a next turn over the whole history', async () => {
      await connect('cid');
      const answer = await call('/chat', 'cid', { message: 'add 2 and 3 and add 40 and 2' });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json.response).toBe('The results are 5 and 42.');
      const starts = answer.json.tool_invocations.filter((e: { type: string }) => e.type === 'tool_start');
      expect(starts.map((e: { input: unknown }) => e.input)).toEqual([
        { a: 2, b: 3 },
        { a: 40, b: 2 },
      ]);
      // The fake refuses a conversation the real API would refuse; this one carries both rounds.
      const next = await call('/chat', 'cid', { message: 'hello again' });
      expect([next.status, next.json.response]).toEqual([200, 'Hello from the fake.']);
    });

    it('answers on a last round with the tools withheld, over a history holding tool calls', async () => {
      // One tool round allowed: the second call carries the calls and results but no tools,
      // which some APIs refuse unless the history is sent in a form they accept.
      const limited = providerHandler(provider, stack.llm, stack.mcp, { maxToolRounds: 1 });
      try {
        const post = (path: string, body: unknown) =>
          limited.fetch(
            new Request(`http://local${path}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: 'Bearer user:hal' },
              body: JSON.stringify(body),
            }),
          );
        expect((await post('/connect', { llm: { model: 'main' } })).status).toBe(200);
        const answer = await post('/chat', { message: 'add 2 and 3' });
        const json = await answer.json();
        expect([answer.status, json.tool_used]).toEqual([200, true]);
        expect(json.response).not.toBe('');
        const last = stack.llm.requests.at(-1)?.body;
        expect('tools' in last || 'toolConfig' in last).toBe(false);
      } finally {
        await limited.close();
      }
    });

    it('reports a rate limit as PROVIDER_RATE_LIMITED after its retries', async () => {
      await connect('dee');
      const before = stack.llm.requests.length;
      const events = await stream('dee', 'rate limit me');
      expect(events.at(-1)).toMatchObject({
        event: 'error',
        data: { code: 'PROVIDER_RATE_LIMITED', recoverable: true },
      });
      expect(stack.llm.requests.length - before).toBe(3);
    });

    it('keeps the text before a stream breaks, then reports PROVIDER_ERROR', async () => {
      await connect('eve');
      const events = await stream('eve', 'break, please');
      expect(tokens(events)).toBe('Partial');
      expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'PROVIDER_ERROR' } });
    });

    it('reports credentials the provider refuses as PROVIDER_AUTH, without repeating them', async () => {
      await connect('fay', 'refused');
      const events = await stream('fay', 'hello');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ event: 'error', data: { code: 'PROVIDER_AUTH' } });
    });

    it('aborts the provider request when the turn is stopped mid-stream', async () => {
      await connect('gus');
      const response = await send('/chat', 'gus', { message: 'talk slowly', streaming: true });
      expect(response.status).toBe(200);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let received = '';
      while (!received.includes('event: token')) {
        const chunk = await reader.read();
        if (chunk.done) break;
        received += new TextDecoder().decode(chunk.value);
      }
      expect(received).toContain('event: token');
      const llmRequest = stack.llm.requests.at(-1);
      const stop = await call('/stop', 'gus', {});
      expect([stop.status, stop.json.status]).toEqual([200, 'stopped']);
      await llmRequest?.settled;
      expect(llmRequest?.aborted).toBe(true);
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        received += new TextDecoder().decode(chunk.value);
      }
      expect(received).toMatch(/event: final\n(?:id: .*\n)?data: .*"stopped":true/);
    });
  });
}
