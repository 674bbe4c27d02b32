/**
 * OAuth for MCP servers through the HTTP handler (CONTRACT §8), one process, memory storage:
 * a real MCP server behind a local authorization server (`oauth-mcp-server.ts`), a fake LLM,
 * and a browser played by `fetch` with manual redirects.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatHandlerOptions } from '../../src/http/chat-handler-options.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import type { Logger } from '../../src/types.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { type OAuthMcpServer, startOAuthMcpServer } from '../fixtures/oauth-mcp-server.js';
import { bearerUser, jsonRequest, readFrames, smartReply } from '../http/stack.js';

const CALLBACK = 'http://local/oauth/callback';

let llm: FakeLlmServer;
let mcp: OAuthMcpServer;
let storage: ChatStorage;
let handler: ReturnType<typeof createChatHandler>;
let logged: string[];
/** Every value written to the session backend. */
let written: string[];

function optionsOf(oauth: NonNullable<ChatHandlerOptions['oauth']>): ChatHandlerOptions {
  return {
    authenticate: bearerUser,
    models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-fake' }],
    mcp: { allowedUrls: [mcp.url] },
    storage,
    sealKey: 'test-seal-key',
    keepAliveMs: 0,
    oauth,
  };
}

function start(overrides: Partial<ChatHandlerOptions> = {}) {
  logged = [];
  const record = (level: string) => (message: string, meta?: Record<string, unknown>) => {
    logged.push(`${level} ${message} ${JSON.stringify(meta ?? {})}`);
  };
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  handler = createChatHandler({
    authenticate: bearerUser,
    models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-fake' }],
    mcp: { allowedUrls: [mcp.url] },
    storage,
    sealKey: 'test-seal-key',
    keepAliveMs: 0,
    logger,
    oauth: { redirectUrl: CALLBACK },
    ...overrides,
  });
}

beforeEach(async () => {
  llm = await startFakeOpenAI({ reply: smartReply });
  mcp = await startOAuthMcpServer();
  const base = memoryStorage();
  written = [];
  storage = {
    ...base,
    sessions: new Proxy(base.sessions, {
      get(target, name, receiver) {
        if (name === 'set') {
          return (key: string, value: string, ttlMs: number) => {
            written.push(value);
            return target.set(key, value, ttlMs);
          };
        }
        const value = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }),
  };
  start();
});

afterEach(async () => {
  await handler.close();
  await storage.close();
  await Promise.all([llm.close(), mcp.close()]);
});

const connect = (user = 'ann') =>
  handler.fetch(jsonRequest('/connect', user, { server: { url: mcp.url }, llm: { model: 'fake' }, streaming: true }));

/** The browser: opens the authorization URL and follows redirects up to (not into) our callback. */
async function consent(authorizationUrl: string): Promise<string> {
  const response = await fetch(authorizationUrl, { redirect: 'manual' });
  const location = response.headers.get('location');
  expect(location, `authorization server answered ${response.status}`).toBeTruthy();
  return location as string;
}

const land = (callbackUrl: string, user: string | null = 'ann') =>
  handler.fetch(jsonRequest(callbackUrl.replace('http://local', ''), user));

async function authorize(user = 'ann'): Promise<void> {
  const first = await connect(user);
  expect(first.status).toBe(403);
  const body = (await first.json()) as { authorization_url: string };
  const landed = await land(await consent(body.authorization_url), user);
  expect(landed.status).toBe(200);
}

async function chat(message: string, user = 'ann') {
  const response = await handler.fetch(jsonRequest('/chat', user, { message, streaming: true }));
  expect(response.status).toBe(200);
  return (await readFrames(response)).map((frame) => frame as { event: string; data: Record<string, unknown> });
}

describe('OAuth for MCP servers', () => {
  it('refuses to start without a sealKey', () => {
    expect(() =>
      createChatHandler({
        authenticate: bearerUser,
        models: [],
        oauth: { redirectUrl: CALLBACK },
      }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('refuses a client metadata URL that is not https with a path', () => {
    for (const clientMetadataUrl of ['http://chat.example/oauth/client-metadata.json', 'https://chat.example/']) {
      expect(() =>
        createChatHandler({
          authenticate: bearerUser,
          models: [],
          sealKey: 'k',
          oauth: { redirectUrl: CALLBACK, clientMetadataUrl },
        }),
      ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });

  it('answers /connect with 403 MCP_AUTHORIZATION_REQUIRED, then connects after the callback and chats with the tools', async () => {
    const first = await connect();
    expect(first.status).toBe(403);
    const body = (await first.json()) as Record<string, string>;
    expect(body.code).toBe('MCP_AUTHORIZATION_REQUIRED');
    expect(body.detail).toMatch(/authoriz/i);
    const authorizationUrl = new URL(body.authorization_url as string);
    expect(authorizationUrl.origin).toBe(mcp.origin);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('resource')).toBe(mcp.url);
    expect(authorizationUrl.searchParams.get('redirect_uri')).toBe(CALLBACK);
    expect(mcp.counters.registrations).toBe(1);

    const landed = await land(await consent(authorizationUrl.href));
    expect(landed.status).toBe(200);
    expect(landed.headers.get('content-type')).toMatch(/text\/html/);
    expect(await landed.text()).toMatch(/close this window/);
    // The code was exchanged with the resource indicator of the MCP server.
    expect(mcp.counters.codeExchanges).toBe(1);
    expect(mcp.counters.resources).toEqual([mcp.url]);

    const second = await connect();
    expect(second.status).toBe(200);
    expect(((await second.json()) as { tools: string[] }).tools).toContain('add');
    const frames = await chat('please add 2 and 3');
    expect(frames.find((frame) => frame.event === 'tool_end')?.data.output).toBe('5');
    expect(frames.at(-1)?.event).toBe('final');
  });

  it('seals tokens at rest and never shows or logs them', async () => {
    await authorize();
    expect((await connect()).status).toBe(200);
    mcp.expireAccessTokens();
    await chat('please add 1 and 2');
    const config = await (await handler.fetch(jsonRequest('/config/ann', 'ann'))).text();
    expect(mcp.issued.length).toBe(4);
    for (const token of mcp.issued) {
      expect(written.join('\n')).not.toContain(token);
      expect(config).not.toContain(token);
      expect(logged.join('\n')).not.toContain(token);
    }
  });

  it('uses a state once: a replayed callback is refused', async () => {
    const first = (await (await connect()).json()) as { authorization_url: string };
    const callback = await consent(first.authorization_url);
    expect((await land(callback)).status).toBe(200);
    const replay = await land(callback);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { code: string }).code).toBe('BAD_REQUEST');
    expect(mcp.counters.codeExchanges).toBe(1);
  });

  it('refuses a callback authenticated as another user, and leaves the authorization to its owner', async () => {
    const first = (await (await connect('ann')).json()) as { authorization_url: string };
    const callback = await consent(first.authorization_url);
    const asBob = await land(callback, 'bob');
    expect(asBob.status).toBe(403);
    expect((await land(callback, null)).status).toBe(401);
    expect(mcp.counters.codeExchanges).toBe(0);
    // Bob's attempt did not spend Ann's state: her own callback still completes, once.
    expect((await land(callback, 'ann')).status).toBe(200);
    expect(mcp.counters.codeExchanges).toBe(1);
    expect((await land(callback, 'ann')).status).toBe(400);
    expect((await connect('bob')).status).toBe(403);
  });

  it('refuses a callback whose iss names another authorization server (RFC 9207)', async () => {
    const first = (await (await connect()).json()) as { authorization_url: string };
    const callback = new URL(await consent(first.authorization_url));
    callback.searchParams.set('iss', 'http://evil.example');
    const landed = await land(callback.href);
    expect(landed.status).toBe(400);
    expect(mcp.counters.codeExchanges).toBe(0);
  });

  it("redirects to the host's return URL after the callback", async () => {
    await handler.close();
    start({ oauth: { redirectUrl: CALLBACK, returnUrl: 'https://app.example/chat?tab=1' } });
    const first = (await (await connect()).json()) as { authorization_url: string };
    const landed = await land(await consent(first.authorization_url));
    expect(landed.status).toBe(302);
    const location = new URL(landed.headers.get('location') as string);
    expect(location.origin + location.pathname).toBe('https://app.example/chat');
    expect(location.searchParams.get('oauth')).toBe('connected');
    expect(location.searchParams.get('tab')).toBe('1');
    // A failure comes back there too, with its code, for the page to show.
    const callback = new URL(
      await consent(((await (await connect('cat')).json()) as { authorization_url: string }).authorization_url),
    );
    const asBob = await land(callback.href, 'bob');
    expect(asBob.status).toBe(302);
    const failed = new URL(asBob.headers.get('location') as string);
    expect(failed.searchParams.get('oauth')).toBe('error');
    expect(failed.searchParams.get('code')).toBe('FORBIDDEN');
    expect(mcp.counters.codeExchanges).toBe(1);
  });

  it('never shares a listing between users connecting at the same moment: each uses their own authorization', async () => {
    // Every handshake waits a little, so the two connects surely overlap.
    await handler.close();
    start({
      fetch: async (input, init) => {
        if (typeof init?.body === 'string' && init.body.includes('"initialize"')) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return fetch(input, init);
      },
    });
    await authorize('ann');
    for (let round = 0; round < 3; round++) {
      const [ann, bob] = await Promise.all([connect('ann'), connect('bob')]);
      expect([ann.status, bob.status]).toEqual([200, 403]);
      expect(((await bob.json()) as { code: string }).code).toBe('MCP_AUTHORIZATION_REQUIRED');
    }
  });

  it('shares one dynamic registration among users', async () => {
    await authorize('ann');
    await authorize('bob');
    expect(mcp.counters.registrations).toBe(1);
    expect(mcp.counters.codeExchanges).toBe(2);
  });

  it('serves the client ID metadata document', async () => {
    await handler.close();
    const metadataUrl = 'https://chat.example/llmchat/oauth/client-metadata.json';
    start({ oauth: { redirectUrl: CALLBACK, clientMetadataUrl: metadataUrl, clientName: 'Example chat' } });
    const response = await handler.fetch(new Request('http://local/oauth/client-metadata.json'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      client_id: metadataUrl,
      client_name: 'Example chat',
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
  });

  it('forgets tokens with DELETE /oauth/:user_id?server=, for oneself only', async () => {
    await authorize();
    expect((await connect()).status).toBe(200);
    const path = `/oauth/ann?server=${encodeURIComponent(mcp.url)}`;
    expect((await handler.fetch(jsonRequest(path, 'bob', undefined, 'DELETE'))).status).toBe(403);
    const forgotten = await handler.fetch(jsonRequest(path, 'ann', undefined, 'DELETE'));
    expect(forgotten.status).toBe(200);
    expect(await forgotten.json()).toEqual({ status: 'forgotten', user_id: 'ann', server: mcp.url });
    const again = await handler.fetch(jsonRequest(path, 'ann', undefined, 'DELETE'));
    expect(((await again.json()) as { status: string }).status).toBe('not_found');
    expect((await connect()).status).toBe(403);
  });

  it('fetches one client_credentials token for all users, and one new one at expiry across handlers sharing the storage', async () => {
    await handler.close();
    await mcp.close();
    const machineClient = { clientId: 'machine', clientSecret: 'machine-secret' };
    mcp = await startOAuthMcpServer({ machineClient });
    const options = {
      redirectUrl: CALLBACK,
      // Written unnormalized, as a host may: it still names the server clients connect to.
      clients: { [mcp.url.replace('http://', 'HTTP://')]: { ...machineClient, grant: 'client_credentials' as const } },
    };
    start({ oauth: options });
    expect((await connect('ann')).status).toBe(200);
    expect(mcp.counters.clientCredentialsGrants).toBe(1);
    // Three handlers on one storage stand for three processes sharing Redis.
    const others = [createChatHandler({ ...optionsOf(options) }), createChatHandler({ ...optionsOf(options) })];
    try {
      mcp.expireAccessTokens();
      const users = ['bob', 'cy', 'dee', 'eli', 'fay', 'gus'];
      const answers = await Promise.all(
        users.map((user, i) =>
          [handler, ...others][i % 3]?.fetch(
            jsonRequest('/connect', user, { server: { url: mcp.url }, llm: { model: 'fake' } }),
          ),
        ),
      );
      expect(answers.map((answer) => answer?.status)).toEqual(Array(users.length).fill(200));
      expect(mcp.counters.clientCredentialsGrants).toBe(2);
      expect(mcp.counters.registrations).toBe(0);
      expect(mcp.counters.authorizationRequests).toBe(0);
    } finally {
      await Promise.all(others.map((other) => other.close()));
    }
  });

  it('asks for a new authorization when a token without a refresh token expires', async () => {
    await handler.close();
    await mcp.close();
    mcp = await startOAuthMcpServer({ refreshTokens: false });
    start();
    await authorize();
    expect((await connect()).status).toBe(200);
    mcp.expireAccessTokens();
    const frames = await chat('please add 1 and 1');
    expect(frames.at(-1)?.data.code).toBe('MCP_AUTHORIZATION_REQUIRED');
    const again = await connect();
    expect(again.status).toBe(403);
    expect(((await again.json()) as { code: string }).code).toBe('MCP_AUTHORIZATION_REQUIRED');
    expect(mcp.counters.refreshRequests).toBe(0);
  });

  it('refreshes a token about to expire before using it, with no 401 on the way', async () => {
    await handler.close();
    start({ sessionTtlMs: 24 * 3600_000, historyTtlMs: 24 * 3600_000 });
    await authorize();
    expect((await connect()).status).toBe(200);
    const unauthorized = mcp.counters.unauthorizedMcpRequests;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      // Ten seconds before the hour-long token ends: inside the 60 s refresh window.
      vi.setSystemTime(Date.now() + 3590_000);
      const frames = await chat('please add 3 and 3');
      expect(frames.find((frame) => frame.event === 'tool_end')?.data.output).toBe('6');
    } finally {
      vi.useRealTimers();
    }
    expect(mcp.counters.refreshRequests).toBe(1);
    expect(mcp.counters.unauthorizedMcpRequests).toBe(unauthorized);
  });

  it('refreshes an expired access token on 401 and carries on', async () => {
    await authorize();
    expect((await connect()).status).toBe(200);
    mcp.expireAccessTokens();
    const frames = await chat('please add 4 and 5');
    expect(frames.find((frame) => frame.event === 'tool_end')?.data.output).toBe('9');
    expect(mcp.counters.refreshRequests).toBe(1);
    expect(mcp.counters.refreshReuses).toBe(0);
  });

  it('asks for a new authorization when the refresh token is revoked, without looping', async () => {
    await authorize();
    expect((await connect()).status).toBe(200);
    mcp.expireAccessTokens();
    mcp.revokeRefreshTokens();
    const frames = await chat('please add 1 and 1');
    const error = frames.at(-1);
    expect(error?.event).toBe('error');
    expect(error?.data.code).toBe('MCP_AUTHORIZATION_REQUIRED');
    expect(String(error?.data.authorization_url)).toContain(`${mcp.origin}/authorize`);
    expect(mcp.counters.refreshRequests).toBe(1);
    // The dead refresh token is forgotten: the next turn asks again without another refresh.
    const again = await chat('please add 1 and 1');
    expect(again.at(-1)?.data.code).toBe('MCP_AUTHORIZATION_REQUIRED');
    expect(mcp.counters.refreshRequests).toBe(1);

    // A non-streaming turn answers the same with a 403 body.
    const plain = await handler.fetch(jsonRequest('/chat', 'ann', { message: 'please add 1 and 1', streaming: false }));
    expect(plain.status).toBe(403);
    const plainBody = (await plain.json()) as Record<string, string>;
    expect(plainBody.code).toBe('MCP_AUTHORIZATION_REQUIRED');
    expect(plainBody.authorization_url).toContain(`${mcp.origin}/authorize`);

    expect((await land(await consent(String(again.at(-1)?.data.authorization_url)))).status).toBe(200);
    const after = await chat('please add 2 and 2');
    expect(after.find((frame) => frame.event === 'tool_end')?.data.output).toBe('4');
  });
});
