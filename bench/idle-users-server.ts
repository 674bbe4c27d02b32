/**
 * The process under test of `bench/idle-users.ts`: one chat handler (memory storage) called
 * in-process through `handler.fetch`, so nothing but the handler's own MCP and LLM sockets is
 * open, and the heap is the handler's. Needs `--expose-gc`. Driven over IPC:
 * - `start` builds the handler against the upstream's fake LLM and MCP server;
 * - `connect` connects users `from`..`to` with at most `concurrency` connects at once;
 * - `measure` collects garbage and reports heap, RSS and open sockets;
 * - `chatAll` has every given user chat at once (every `toolEvery`th one a tool turn) and reports
 *   how it went and the peak RSS;
 * - `toolTurns` runs tool turns one user after another and reports each one's time.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { createChatHandler } from '../src/http/create-chat-handler.js';
import { memoryStorage } from '../src/storage.js';
import { bearerUser, jsonRequest } from '../test/http/stack.js';
import { serveIpc } from './lib/ipc.js';

/** What the orchestrator sends to `start`. */
export interface IdleServerStart {
  llmUrl: string;
  mcpUrl: string;
  /** `connections.idleMs` of the handler. */
  idleMs: number;
}

/** What `measure` reports. */
export interface IdleMeasure {
  heapUsed: number;
  heapTotal: number;
  /** Memory of C++ objects bound to JS ones, ArrayBuffers included. */
  external: number;
  rss: number;
  /** V8's heap spaces: name, size, used, in MB. */
  spaces: string[];
  /** TCP sockets open in this process (MCP and LLM connections, pooled ones included). */
  sockets: number;
}

/** What `chatAll` reports. */
export interface ChatAllResult {
  ok: number;
  failed: number;
  /** The first few failures, status and code. */
  failures: string[];
  elapsedMs: number;
  /** Each turn's time from request to its JSON answer, ms. */
  latencies: number[];
  peakRss: number;
  usedTool: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
let handler: ReturnType<typeof createChatHandler> | undefined;

function collect(): void {
  if (!gc) throw new Error('run with --expose-gc');
  // Twice: the first pass may leave objects that finalizers of the first freed.
  gc();
  gc();
}

function requireHandler(): ReturnType<typeof createChatHandler> {
  if (!handler) throw new Error('start first');
  return handler;
}

async function chat(user: string, message: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await requireHandler().fetch(jsonRequest('/chat', user, { message, streaming: false }));
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
}

serveIpc(
  {
    start: ({ llmUrl, mcpUrl, idleMs }: IdleServerStart) => {
      handler = createChatHandler({
        authenticate: bearerUser,
        models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llmUrl, apiKey: 'sk-bench' }],
        mcp: { defaultServer: { url: mcpUrl } },
        // A header of each user's own, as per-user credentials would be: no two users' servers
        // are configured alike, so each connect lists the tools itself. Users named `s…` get
        // none: their connects share a listing that runs when they arrive (`connect` with `prefix: 's'`).
        serverAuth: ({ user }) => (user.id.startsWith('s') ? undefined : { 'x-bench-user': user.id }),
        // Two keys per connected user (session and marker), history and slack on top.
        storage: memoryStorage({ maxEntries: 1_000_000 }),
        connections: { idleMs, max: 100_000 },
        keepAliveMs: 0,
      });
      return true;
    },
    connect: async ({
      from,
      to,
      concurrency,
      prefix = 'u',
    }: {
      from: number;
      to: number;
      concurrency: number;
      prefix?: string;
    }) => {
      const started = performance.now();
      let next = from;
      let failed = 0;
      const worker = async () => {
        while (next < to) {
          const user = `${prefix}${next++}`;
          const answer = await requireHandler().fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));
          if (answer.status !== 200) failed += 1;
          await answer.arrayBuffer();
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return { elapsedMs: performance.now() - started, failed };
    },
    measure: async ({ settle = 0, waitMs = 0 }: { settle?: number; waitMs?: number } = {}): Promise<IdleMeasure> => {
      for (let i = 0; i < settle; i++) {
        collect();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Left alone (no forced collection): what V8's own memory reducer makes of the heap.
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      else collect();
      const sockets = process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;
      const { heapUsed, heapTotal, external, rss } = process.memoryUsage();
      const spaces = getHeapSpaceStatistics()
        .filter((space) => space.space_size > 1024 * 1024)
        .map(
          (space) =>
            `${space.space_name} ${(space.space_size / 1048576).toFixed(1)}/${(space.space_used_size / 1048576).toFixed(1)}`,
        );
      return { heapUsed, heapTotal, external, rss, spaces, sockets };
    },
    chatAll: async ({ users, toolEvery }: { users: string[]; toolEvery: number }): Promise<ChatAllResult> => {
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }, 20);
      const started = performance.now();
      const results = await Promise.all(
        users.map(async (user, index) => {
          const t0 = performance.now();
          const answer = await chat(user, index % toolEvery === 0 ? `add ${index} and 1` : 'hello');
          return { ...answer, ms: performance.now() - t0 };
        }),
      );
      const elapsedMs = performance.now() - started;
      clearInterval(sampler);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const bad = results.filter((result) => result.status !== 200);
      return {
        ok: results.length - bad.length,
        failed: bad.length,
        failures: bad.slice(0, 5).map((result) => `${result.status} ${String(result.body.code)}`),
        elapsedMs,
        latencies: results.map((result) => result.ms),
        peakRss,
        usedTool: results.filter((result) => result.body.tool_used === true).length,
      };
    },
    toolTurns: async ({ users, message }: { users: string[]; message: string }) => {
      const times: number[] = [];
      for (const user of users) {
        const t0 = performance.now();
        const answer = await chat(user, message);
        if (answer.body.tool_used !== true) throw new Error(`${user}: no tool used (${JSON.stringify(answer.body)})`);
        times.push(performance.now() - t0);
      }
      return times;
    },
  },
  async () => {
    await handler?.close();
  },
);
