/**
 * The server under test, in its own process so `process.cpuUsage()`, memory and event-loop
 * delay are its own. Driven over IPC by `bench/run.ts` and `bench/soak.ts`.
 *
 * Serves, each on its own loopback port:
 * - `lib` (mcp-llmchat through the Express adapter, memory storage), and with `--redis` also
 *   `libRedis` (the same over real Redis, random key prefix, removed on close);
 * - `floor`: a bare node:http server piping the fake provider's stream straight to the client
 *   (`POST /`; `POST /fetch` does the same with `fetch` instead of `http.request`);
 * - `libFetch` (and with `--redis` `libFetchRedis`): the same handler's `handler.fetch` mounted on
 *   plain node:http through `@hono/node-server`'s `getRequestListener` (what a Hono app on Node
 *   runs; the path Hono, Bun, Deno and Next users take), routes under `/llmchat`;
 * - `libApprovals`: `lib` with tool approval configured (a rule that allows every call), so the
 *   approval gate runs on each tool call but never asks;
 * - `aisdk`: the Vercel AI SDK (`streamText` + `@ai-sdk/openai-compatible`, MCP tools through
 *   `@ai-sdk/mcp` connected once up front) on Express, streamed with
 *   `result.pipeUIMessageStreamToResponse(res)`.
 *
 * Flags: `--only-lib` (just `lib`, for the soak run), `--no-aisdk` (`lib`, `libFetch` and `floor`,
 * for the concurrency run), `--redis`, `--redis-prefix=<p>` (a fixed key prefix instead of a random
 * one, so two server processes share their sessions; the orchestrator removes the keys), `--lib-redis-only`
 * (just `libRedis`, for the several-processes run), `--redis-autopipelining` (the ioredis client with
 * `enableAutoPipelining`).
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { getRequestListener } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import express from 'express';
import { Redis } from 'ioredis';
import { toExpressMiddleware } from '../src/adapters/express.js';
import { stripMountPrefix } from '../src/adapters/node/strip-mount-prefix.js';
import type { ChatHandler } from '../src/http/chat-handler.js';
import type { ChatHandlerOptions } from '../src/http/chat-handler-options.js';
import { createChatHandler } from '../src/http/create-chat-handler.js';
import { redisStorage } from '../src/redis/redis-storage.js';
import { type ChatStorage, memoryStorage } from '../src/storage.js';
import { bearerUser } from '../test/http/stack.js';
import { startCpuProfile, stopCpuProfile } from './lib/cpu-profiler.js';
import { oldSpaceUsed, startCountingFullCollections, stopCountingFullCollections } from './lib/full-collections.js';
import { type KeptCollected, startHeapSampling, stopHeapSampling } from './lib/heap-sampler.js';
import { serveIpc } from './lib/ipc.js';
import { promiseOrigins, startPromiseCount, stopPromiseCount } from './lib/promise-counter.js';
import { resetRssPeak, rssPeak } from './lib/rss-peak.js';

/** Where the upstream fakes live, sent by the orchestrator. */
export interface UpstreamInfo {
  llmUrl: string;
  burstUrl: string;
  mcpUrl: string;
}

/** Ports of the servers this process started (absent ones were not started). */
export interface ServerPorts {
  lib?: number;
  /** The library's Node bridge (`toExpressMiddleware`) on plain node:http, with `--bridge`. */
  libBridge?: number;
  libRedis?: number;
  libFetch?: number;
  libFetchRedis?: number;
  libApprovals?: number;
  floor?: number;
  aisdk?: number;
}

const onlyLib = process.argv.includes('--only-lib');
const withBridge = process.argv.includes('--bridge');
const withRedis = process.argv.includes('--redis');
const noAiSdk = process.argv.includes('--no-aisdk');
const libRedisOnly = process.argv.includes('--lib-redis-only');
const autoPipelining = process.argv.includes('--redis-autopipelining');
const fixedPrefix = process.argv.find((arg) => arg.startsWith('--redis-prefix='))?.slice('--redis-prefix='.length);
const closers: Array<() => Promise<void>> = [];
const redisCounts = new Map<string, number>();
let redis: Redis | undefined;
let redisPrefix = '';
let eld: ReturnType<typeof monitorEventLoopDelay> | undefined;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    });
  });
}

/** Extra handler options of one variant (the base path of `handler.fetch`, tool approval). */
type Extra = Partial<Pick<ChatHandlerOptions, 'basePath' | 'toolApproval'>>;

function libHandler(upstream: UpstreamInfo, storage: ChatStorage, extra: Extra = {}, ownsStorage = true): ChatHandler {
  const handler = createChatHandler({
    ...extra,
    authenticate: bearerUser,
    models: [
      { id: 'fake', model: 'fake-model', provider: 'openai_compatible', baseUrl: upstream.llmUrl, apiKey: 'sk-bench' },
      {
        id: 'burst',
        model: 'fake-model',
        provider: 'openai_compatible',
        baseUrl: upstream.burstUrl,
        apiKey: 'sk-bench',
      },
    ],
    mcp: { defaultServer: { url: upstream.mcpUrl } },
    storage,
    // One earlier turn rides along, so each measured turn sends about what the peers send.
    maxHistoryTurns: 1,
    connections: { max: 5000 },
  });
  closers.push(async () => {
    await handler.close();
    if (ownsStorage) await storage.close();
  });
  return handler;
}

async function startLib(handler: ChatHandler): Promise<number> {
  const app = express();
  app.use('/llmchat', toExpressMiddleware(handler));
  return listen(createServer(app));
}

/**
 * The same middleware as {@link startLib} without Express: on plain node:http, the mount prefix
 * taken off the URL as Express does. What the Express door pays beyond it is Express's own.
 */
async function startBridge(handler: ChatHandler): Promise<number> {
  const middleware = toExpressMiddleware(handler);
  const notFound = (res: ServerResponse) => res.writeHead(404).end();
  return listen(
    createServer((req, res) => {
      const url = stripMountPrefix(req.url ?? '/', '/llmchat');
      if (url === undefined) {
        notFound(res);
        return;
      }
      req.url = url;
      middleware(req, res, () => notFound(res));
    }),
  );
}

/**
 * `handler.fetch` on plain node:http, as a Hono app on Node serves it (routes under `/llmchat`).
 * `overrideGlobalObjects: false`: by default the listener swaps the process's global `Request`
 * and `Response` for its own subclasses, which would change the Express variants in this process too.
 */
async function startFetch(handler: ChatHandler): Promise<number> {
  return listen(
    createServer(getRequestListener((request) => handler.fetch(request), { overrideGlobalObjects: false })),
  );
}

/** The floor: request in, provider stream out, nothing in between. */
async function startFloor(upstream: UpstreamInfo, tools: unknown[]): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  closers.push(async () => agent.destroy());
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { message, model } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        message: string;
        model?: string;
      };
      const base = model === 'burst' ? upstream.burstUrl : upstream.llmUrl;
      const viaFetch = req.url === '/fetch';
      const body = JSON.stringify({
        model: 'fake-model',
        messages: [{ role: 'user', content: message }],
        tools,
        stream: true,
        stream_options: { include_usage: true },
      });
      if (viaFetch) {
        relayWithFetch(`${base}/chat/completions`, body, res);
        return;
      }
      const upstreamReq = httpRequest(
        `${base}/chat/completions`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' } },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, {
            'content-type': 'text/event-stream',
            'cache-control': 'no-cache',
          });
          upstreamRes.pipe(res);
        },
      );
      res.on('close', () => upstreamReq.destroy());
      upstreamReq.on('error', () => res.destroy());
      upstreamReq.end(body);
    });
  });
  return listen(server);
}

/** The floor again, but calling the provider with `fetch` (undici), as mcp-llmchat does. */
function relayWithFetch(url: string, body: string, res: ServerResponse): void {
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body,
    signal: abort.signal,
  })
    .then(async (response) => {
      res.writeHead(response.status, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
      }
      res.end();
    })
    .catch(() => res.destroy());
}

async function startAiSdk(upstream: UpstreamInfo): Promise<number> {
  // Loaded only here, so the lib-only processes (concurrency, soak) do not carry it in memory.
  const [{ createMCPClient }, { createOpenAICompatible }, { stepCountIs, streamText }] = await Promise.all([
    import('@ai-sdk/mcp'),
    import('@ai-sdk/openai-compatible'),
    import('ai'),
  ]);
  const mcpClient = await createMCPClient({ transport: { type: 'http', url: upstream.mcpUrl } });
  closers.push(() => mcpClient.close());
  const tools = await mcpClient.tools();
  const providers = {
    fake: createOpenAICompatible({ name: 'fake', baseURL: upstream.llmUrl, apiKey: 'sk-bench', includeUsage: true }),
    burst: createOpenAICompatible({
      name: 'burst',
      baseURL: upstream.burstUrl,
      apiKey: 'sk-bench',
      includeUsage: true,
    }),
  };
  const app = express();
  app.post('/chat', express.json(), (req, res) => {
    const { message, model } = req.body as { message: string; model?: string };
    const provider = model === 'burst' ? providers.burst : providers.fake;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const result = streamText({
      model: provider.chatModel('fake-model'),
      messages: [{ role: 'user', content: message }],
      tools,
      stopWhen: stepCountIs(10),
      abortSignal: abort.signal,
    });
    result.pipeUIMessageStreamToResponse(res);
  });
  return listen(createServer(app));
}

/** The MCP tools in Chat Completions form, listed once with a plain SDK client (for the floor's body). */
async function listOpenAiTools(mcpUrl: string): Promise<unknown[]> {
  const client = new Client({ name: 'bench-floor', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)));
  const { tools } = await client.listTools();
  await client.close();
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
  }));
}

/** Counts every command this process sends to Redis, by name (client side, exact). */
function countCommands(client: Redis): void {
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, stream?: unknown) => {
    redisCounts.set(command.name, (redisCounts.get(command.name) ?? 0) + 1);
    return send(command as never, stream as never);
  }) as typeof client.sendCommand;
}

async function start(upstream: UpstreamInfo): Promise<ServerPorts> {
  const ports: ServerPorts = {};
  if (!libRedisOnly) {
    ports.lib = await startLib(libHandler(upstream, memoryStorage()));
    if (!onlyLib) ports.libFetch = await startFetch(libHandler(upstream, memoryStorage(), { basePath: '/llmchat' }));
    if (withBridge) ports.libBridge = await startBridge(libHandler(upstream, memoryStorage()));
  }
  if (withRedis) {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: autoPipelining,
    });
    await redis.connect();
    redisPrefix = fixedPrefix ?? `bench:${randomUUID().slice(0, 8)}:`;
    const client = redis;
    closers.push(async () => {
      if (fixedPrefix === undefined) await deleteKeys(client, redisPrefix);
      await client.quit();
    });
    countCommands(client);
    // Each Redis variant has storage of its own under its own prefix (one client, counted once),
    // as two apps would: sharing one would let a /connect on one drop the other's live session.
    const storage = redisStorage(client, { keyPrefix: redisPrefix });
    closers.push(() => storage.close());
    ports.libRedis = await startLib(libHandler(upstream, storage, {}, false));
    if (!onlyLib && !libRedisOnly) {
      const fetchStorage = redisStorage(client, { keyPrefix: `${redisPrefix}fetch:` });
      closers.push(() => fetchStorage.close());
      ports.libFetchRedis = await startFetch(libHandler(upstream, fetchStorage, { basePath: '/llmchat' }, false));
    }
  }
  if (onlyLib || libRedisOnly) return ports;
  if (!noAiSdk) {
    ports.libApprovals = await startLib(libHandler(upstream, memoryStorage(), { toolApproval: () => 'allow' }));
  }
  ports.floor = await startFloor(upstream, await listOpenAiTools(upstream.mcpUrl));
  if (!noAiSdk) ports.aisdk = await startAiSdk(upstream);
  return ports;
}

async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await client.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

function handleSummary(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

serveIpc(
  {
    start: (upstream: UpstreamInfo) => start(upstream),
    cpu: () => process.cpuUsage(),
    mem: () => ({
      ...process.memoryUsage(),
      maxRss: process.resourceUsage().maxRSS * 1024,
      oldSpaceUsed: oldSpaceUsed(),
    }),
    fullGcCountStart: () => startCountingFullCollections(),
    fullGcCountStop: () => stopCountingFullCollections(),
    // Read once at a wave's end, not with every 50 ms sample: the kernel keeps the peak.
    peakRss: () => rssPeak(),
    resetPeak: () => resetRssPeak(),
    heapSampleStart: (args: number | { intervalBytes: number; keep: KeptCollected }) =>
      typeof args === 'number' ? startHeapSampling(args) : startHeapSampling(args.intervalBytes, args.keep),
    heapSampleStop: (path: string) => stopHeapSampling(path),
    heapSnapshot: (path: string) => writeHeapSnapshot(path),
    cpuProfileStart: (intervalUs: number) => startCpuProfile(intervalUs),
    cpuProfileStop: (path: string) => stopCpuProfile(path),
    promiseCountStart: (withOrigins?: boolean) => startPromiseCount(withOrigins === true),
    promiseCountStop: () => stopPromiseCount(),
    promiseOrigins: () => promiseOrigins(),
    // Two scavenges: what the young generation still holds is promoted, its garbage freed.
    minorGc: () => {
      const gc = (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc;
      if (!gc) return false;
      gc({ type: 'minor' });
      gc({ type: 'minor' });
      return true;
    },
    gc: () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) return false;
      gc();
      gc();
      return true;
    },
    handles: () => handleSummary(),
    eldStart: () => {
      eld?.disable();
      eld = monitorEventLoopDelay({ resolution: 5 });
      eld.enable();
      return true;
    },
    eldStop: () => {
      if (!eld) return undefined;
      eld.disable();
      const result = { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 };
      eld = undefined;
      return result;
    },
    redisInfo: async () => ({ prefix: redisPrefix, clientInfo: redis ? await redis.client('INFO') : '' }),
    redisCounts: () => Object.fromEntries(redisCounts),
    redisResetCounts: () => {
      redisCounts.clear();
      return true;
    },
    redisKeyCount: async () => {
      if (!redis) return 0;
      let cursor = '0';
      let count = 0;
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
        cursor = next;
        count += keys.length;
      } while (cursor !== '0');
      return count;
    },
  },
  async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  },
);
