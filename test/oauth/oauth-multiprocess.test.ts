/**
 * OAuth across processes (CONTRACT §8 with §4): three worker processes (Express + the handler +
 * redisStorage) share one Redis prefix, in front of an MCP server with its own authorization
 * server that rotates refresh tokens and revokes the whole family when a used one comes back,
 * as strict servers do. A browser is played by `fetch`; the load balancer by choosing which
 * worker gets each request.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../fixtures/fake-llm-common.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { type OAuthMcpServer, startOAuthMcpServer } from '../fixtures/oauth-mcp-server.js';
import { smartReply } from '../http/stack.js';
import {
  type ChatWorkerConfig,
  call,
  deletePrefix,
  parseSse,
  REDIS_URL,
  requireRedis,
  startWorker,
  type Worker,
} from '../multiprocess/worker-process.js';

const available = await requireRedis('OAuth multi-process tests');
const PREFIX = `llmchat-oauth-mp:${randomUUID()}:`;
// The public URL of the callback, as a load balancer in front of the workers would expose it.
const PUBLIC = 'http://chat.invalid/llmchat';

/** Holds "together" requests until `size` of them arrived, so their tool calls start at once. */
const barrier = { size: 0, waiting: [] as (() => void)[] };

/**
 * "add many": ten parallel `add` calls in one round; "together": waits at the barrier, then calls
 * `add`; otherwise the usual fake.
 */
async function reply(request: RecordedRequest) {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const text = String(messages.at(-1)?.content);
  if (messages.at(-1)?.role === 'user' && text.startsWith('together')) {
    await new Promise<void>((resolve) => {
      barrier.waiting.push(resolve);
      if (barrier.waiting.length >= barrier.size) for (const release of barrier.waiting.splice(0)) release();
    });
  }
  if (messages.at(-1)?.role === 'user' && /add many/.test(String(messages.at(-1)?.content))) {
    return {
      kind: 'tool_calls' as const,
      calls: Array.from({ length: 10 }, (_, i) => ({ name: 'add', arguments: { a: i, b: 1 } })),
    };
  }
  return smartReply(request);
}

describe.skipIf(!available)('OAuth across processes sharing Redis', () => {
  let llm: FakeLlmServer;
  let mcp: OAuthMcpServer;
  /** An MCP server whose token the application itself gets (`client_credentials`), shared by all users. */
  let machine: OAuthMcpServer;
  const machineClient = { clientId: 'chat-app', clientSecret: 'chat-app-secret' };
  let redis: Redis;
  const workers: Worker[] = [];
  let a: Worker;
  let b: Worker;
  let c: Worker;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    llm = await startFakeOpenAI({ reply });
    // Registrations take a while, so the first connects of several processes meet at it.
    mcp = await startOAuthMcpServer({ registrationDelayMs: 300 });
    // Slow token answers: a process that did not wait for the one token request would send its own.
    machine = await startOAuthMcpServer({ machineClient, tokenDelayMs: 300 });
    const config: ChatWorkerConfig = {
      redisUrl: REDIS_URL,
      keyPrefix: PREFIX,
      llmUrl: llm.url,
      mcpUrl: mcp.url,
      sealKey: 'multi-process-seal-key',
      oauth: {
        redirectUrl: `${PUBLIC}/oauth/callback`,
        clients: { [machine.url]: { ...machineClient, grant: 'client_credentials' } },
      },
      extraAllowedUrls: [machine.url],
    };
    // Three tsx processes at once on a busy machine can take a while: a generous start timeout.
    const started = await Promise.allSettled(['A', 'B', 'C'].map((name) => startWorker(name, config, 60_000)));
    for (const result of started) if (result.status === 'fulfilled') workers.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    [a, b, c] = workers as [Worker, Worker, Worker];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await Promise.all([llm?.close(), mcp?.close(), machine?.close()]);
    if (redis) {
      await deletePrefix(redis, PREFIX);
      await redis.quit();
    }
  });

  const connect = (worker: Worker, user: string) =>
    call(worker.baseUrl, '/connect', { user, body: { llm: { model: 'fake' }, streaming: true } });

  /** The browser opens the authorization URL; the redirect to our callback lands on `worker`. */
  async function consentOn(worker: Worker, authorizationUrl: string, user: string) {
    const response = await fetch(authorizationUrl, { redirect: 'manual' });
    const location = response.headers.get('location') ?? '';
    expect(location.startsWith(`${PUBLIC}/oauth/callback?`)).toBe(true);
    return call(worker.baseUrl, location.slice(PUBLIC.length), { user });
  }

  async function chatOn(worker: Worker, user: string, message: string) {
    const answer = await call(worker.baseUrl, '/chat', { user, body: { message, streaming: true }, timeoutMs: 30_000 });
    expect(answer.status).toBe(200);
    return parseSse(answer.text);
  }

  async function authorizeOn(worker: Worker, user: string) {
    const first = await connect(worker, user);
    expect(first.status).toBe(403);
    expect((await consentOn(worker, first.json.authorization_url, user)).status).toBe(200);
  }

  it('registers one client for all processes and users, even when they start at once', async () => {
    const answers = await Promise.all([connect(a, 'bea'), connect(b, 'cy'), connect(c, 'flo')]);
    expect(answers.map((answer) => answer.json.code)).toEqual(Array(3).fill('MCP_AUTHORIZATION_REQUIRED'));
    const clientIds = answers.map((answer) => new URL(answer.json.authorization_url).searchParams.get('client_id'));
    expect(new Set(clientIds).size).toBe(1);
    expect(mcp.counters.registrations).toBe(1);
  });

  it('starts the flow on A, lands the callback on B, and chats on C', async () => {
    const first = await connect(a, 'ann');
    expect(first.status).toBe(403);
    expect(first.json.code).toBe('MCP_AUTHORIZATION_REQUIRED');
    const landed = await consentOn(b, first.json.authorization_url, 'ann');
    expect(landed.status).toBe(200);
    expect((await connect(a, 'ann')).status).toBe(200);
    const frames = await chatOn(c, 'ann', 'please add 2 and 3');
    expect(frames.find((frame) => frame.event === 'tool_end')?.data.output).toBe('5');
    expect(frames.at(-1)?.event).toBe('final');
  });

  it('meets an expired token with exactly one refresh: 20 concurrent connects over 3 processes, then 10 parallel tool calls', async () => {
    await authorizeOn(a, 'dan');
    expect((await connect(b, 'dan')).status).toBe(200);
    const before = mcp.counters.refreshRequests;
    mcp.expireAccessTokens();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => connect([a, b, c][i % 3] as Worker, 'dan')));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect(mcp.counters.refreshRequests - before).toBe(1);

    mcp.expireAccessTokens();
    const frames = await chatOn(c, 'dan', 'add many');
    expect(frames.filter((frame) => frame.event === 'tool_end')).toHaveLength(10);
    expect(mcp.counters.refreshRequests - before).toBe(2);
    // No rotated refresh token was ever presented twice.
    expect(mcp.counters.refreshReuses).toBe(0);
  });

  it('asks for a new authorization when the refresh token is revoked, without looping', async () => {
    await authorizeOn(a, 'eve');
    expect((await connect(a, 'eve')).status).toBe(200);
    const refreshes = mcp.counters.refreshRequests;
    const authorizations = mcp.counters.authorizationRequests;
    mcp.expireAccessTokens();
    mcp.revokeRefreshTokens();

    // Connect holds no MCP connection: every process connects on the turn's first tool call, so
    // the turn ends with an `error` event carrying the URL, on whichever process runs it.
    for (const worker of [a, b, c]) {
      const frames = await chatOn(worker, 'eve', 'please add 1 and 1');
      expect(frames.at(-1)?.event).toBe('error');
      expect(frames.at(-1)?.data.code).toBe('MCP_AUTHORIZATION_REQUIRED');
      expect(String(frames.at(-1)?.data.authorization_url)).toContain(`${mcp.origin}/authorize`);
    }
    const onA = await chatOn(a, 'eve', 'please add 1 and 1');
    expect(mcp.counters.refreshRequests - refreshes).toBe(1);
    // Nothing went to the authorization endpoint by itself: only the user can.
    expect(mcp.counters.authorizationRequests).toBe(authorizations);

    expect((await consentOn(a, String(onA.at(-1)?.data.authorization_url), 'eve')).status).toBe(200);
    const after = await chatOn(b, 'eve', 'please add 2 and 2');
    expect(after.find((frame) => frame.event === 'tool_end')?.data.output).toBe('4');
  });

  it('20 concurrent turns of 20 users on 3 processes at the expiry of a shared client_credentials token cause exactly one token request', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const body = { server: { url: machine.url }, llm: { model: 'fake' }, streaming: true };
    expect((await call(a.baseUrl, '/connect', { user: users[0], body })).status).toBe(200);
    const connected = await Promise.all(
      users.slice(1).map((user, i) => call(([a, b, c][i % 3] as Worker).baseUrl, '/connect', { user, body })),
    );
    expect(connected.map((answer) => answer.status)).toEqual(Array(19).fill(200));
    expect(machine.counters.clientCredentialsGrants).toBe(1);

    machine.expireAccessTokens();
    // The fake LLM answers all twenty at once, so their tool calls meet the expiry together.
    barrier.size = users.length;
    const turns = await Promise.all(
      users.map((user, i) => chatOn([a, b, c][(i + 1) % 3] as Worker, user, `together: please add ${i} and 1`)),
    );
    turns.forEach((frames, i) => {
      expect(frames.find((frame) => frame.event === 'tool_end')?.data.output).toBe(String(i + 1));
    });
    expect(machine.counters.clientCredentialsGrants).toBe(2);
    expect(machine.counters.authorizationRequests).toBe(0);
  });
});
