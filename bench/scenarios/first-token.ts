/**
 * Scenario 1: latency added to the first token. One short streamed turn ("Hello from the fake."
 * in three chunks), timed from sending the request to the first token frame the client reads,
 * through mcp-llmchat (Express and `handler.fetch` on node:http, memory and Redis storage; every
 * turn records its event log, as it always does; one variant in a named conversation), the bare
 * relay floor and the AI SDK. Two passes: a fresh server whose library turns each follow a
 * reconnect (the method of earlier rounds, shown for comparison), then the steady state the
 * targets are read in (the per-turn code optimized, a connected user's history cleared between
 * turns).
 * Then the same without HTTP (issue 4): `ChatService.chat()` to its first `token` event vs a
 * direct `fetch` of the fake provider to its first content chunk.
 */
import { ChatService } from '../../src/chat/chat-service.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import { McpToolbox } from '../../src/mcp/mcp-toolbox.js';
import { type BenchEnv, connectUser } from '../lib/bench-env.js';
import { interleave } from '../lib/interleave.js';
import type { Table, TargetRow } from '../lib/report.js';
import { fmt, pairedDiffs, summarize } from '../lib/stats.js';
import { deleteRequest, FORMATS, postStream, type StreamFormat, userHeaders } from '../lib/stream-client.js';

/** Turn counts of the scenario. */
export interface FirstTokenOptions {
  /** Recorded rounds, in each of the two passes. */
  turns: number;
  /** Unrecorded rounds before the first pass (the fresh server's). */
  warmup: number;
  /**
   * Unrecorded rounds between the passes, so that the second pass measures a server in its steady
   * state: Node 20's V8 moves a function to its optimizing tier only after enough runs, and the
   * library's per-turn code had not got there within the first pass (see bench/ANALYSIS.md).
   */
  settle: number;
}

/** Tables and target rows a scenario returns. */
export interface ScenarioResult {
  tables: Table[];
  targets: TargetRow[];
}

const USER = 'bench-first-token';

/** How a library variant empties its user's history after a timed turn (see `plainTurn`). */
type Cleanup = 'clear' | 'reconnect';

export async function firstTokenScenario(env: BenchEnv, options: FirstTokenOptions): Promise<ScenarioResult> {
  const ports = [env.ports.lib, env.ports.libRedis, env.ports.libFetch, env.ports.libFetchRedis];
  for (const port of ports) if (port !== undefined) await connectUser(port, USER);
  const turn = (url: string, body: unknown, format: StreamFormat, headers?: Record<string, string>) => async () => {
    const timing = await postStream(url, body, format, headers ? { headers } : {});
    if (timing.status !== 200 || !timing.complete || Number.isNaN(timing.firstMs)) {
      throw new Error(`incomplete turn from ${url}: status ${timing.status}`);
    }
    return timing.firstMs;
  };
  const chatBody = { message: 'hello', streaming: true };
  // The floor and the AI SDK send the provider one message. For the same turn, the library's user
  // starts each turn from an empty history, cleared after the turn (untimed): by deleting the
  // conversation (the steady state: a connected user's later turn), or by a reconnect (every turn
  // then is the first after a /connect, and the connect's MCP listing runs between the timed turns
  // of every variant: what this scenario did until the fourteenth round of issue 17).
  const plainTurn = (port: number | undefined, cleanup: Cleanup) => {
    const timed = turn(env.url(port, '/llmchat/chat'), chatBody, FORMATS.lib, userHeaders(USER));
    const clear = () => deleteRequest(env.url(port, `/llmchat/history/${USER}`), userHeaders(USER));
    return async () => {
      const firstMs = await timed();
      await (cleanup === 'reconnect' ? connectUser(port, USER) : clear());
      return firstMs;
    };
  };
  // A named conversation keeps its history across /connect: its turns clear it instead (untimed).
  const conversationTurn = (port: number | undefined) => {
    const timed = turn(
      env.url(port, '/llmchat/chat'),
      { ...chatBody, conversation_id: 'bench-named' },
      FORMATS.lib,
      userHeaders(USER),
    );
    return async () => {
      const firstMs = await timed();
      await deleteRequest(env.url(port, `/llmchat/history/${USER}?conversation_id=bench-named`), userHeaders(USER));
      return firstMs;
    };
  };
  const variantsWith = (cleanup: Cleanup) =>
    [
      { name: 'floor', run: turn(env.url(env.ports.floor, '/'), { message: 'hello' }, FORMATS.floor) },
      { name: 'floor-fetch', run: turn(env.url(env.ports.floor, '/fetch'), { message: 'hello' }, FORMATS.floor) },
      {
        name: 'lib-memory',
        run: plainTurn(env.ports.lib, cleanup),
      },
      {
        name: 'lib-redis',
        run: plainTurn(env.ports.libRedis, cleanup),
      },
      { name: 'fetch-memory', run: plainTurn(env.ports.libFetch, cleanup) },
      { name: 'fetch-redis', run: plainTurn(env.ports.libFetchRedis, cleanup) },
      { name: 'lib-conversation', run: conversationTurn(env.ports.lib) },
      { name: 'aisdk', run: turn(env.url(env.ports.aisdk, '/chat'), { message: 'hello' }, FORMATS.aisdk) },
    ].filter(
      (variant) =>
        (variant.name !== 'lib-redis' || env.ports.libRedis !== undefined) &&
        (variant.name !== 'fetch-redis' || env.ports.libFetchRedis !== undefined),
    );
  // Two passes. First the fresh server's rounds after `warmup`, each default-conversation library
  // turn right after a reconnect: how this scenario read its targets until the fourteenth round
  // of issue 17. Then, after `settle` more rounds, the steady state that the targets are read in:
  // turns of a connected user, their history cleared between them.
  const fresh = await interleave(variantsWith('reconnect'), options.turns, options.warmup);
  const samples = await interleave(variantsWith('clear'), options.turns, options.settle);
  const freshFloor = summarize(fresh.floor ?? []).median;
  const freshAdded = (name: string) => summarize(fresh[name] ?? []).median - freshFloor;
  const floor = summarize(samples.floor ?? []);
  const labels: Record<string, string> = {
    floor: 'bare relay (floor)',
    'floor-fetch': 'bare relay calling the provider with fetch',
    'lib-memory': 'mcp-llmchat, Express, memory',
    'lib-redis': 'mcp-llmchat, Express, Redis',
    'fetch-memory': 'mcp-llmchat, handler.fetch on node:http, memory',
    'fetch-redis': 'mcp-llmchat, handler.fetch on node:http, Redis',
    'lib-conversation': 'mcp-llmchat, Express, memory, named conversation',
    aisdk: 'AI SDK 6 streamText, Express',
  };
  const added: Record<string, number> = {};
  const rows = Object.entries(samples).map(([name, values]) => {
    const summary = summarize(values);
    added[name] = summary.median - floor.median;
    const paired = summarize(pairedDiffs(values, samples.floor ?? []));
    return [
      labels[name] ?? name,
      String(summary.n),
      fmt(summary.median),
      fmt(summary.p99),
      name === 'floor' ? '—' : fmt(added[name] ?? Number.NaN),
      name === 'floor' ? '—' : fmt(paired.median),
      name === 'floor' ? fmt(freshFloor) : fmt(freshAdded(name)),
    ];
  });

  const inProcess = await inProcessFirstToken(env, options);
  const lib = added['lib-memory'] ?? Number.NaN;
  const redis = added['lib-redis'] ?? Number.NaN;
  const viaFetch = added['fetch-memory'] ?? Number.NaN;
  const viaFetchRedis = added['fetch-redis'] ?? Number.NaN;
  const conversation = added['lib-conversation'] ?? Number.NaN;
  const redisTarget = (label: string, value: number): TargetRow => ({
    target: `first token, ${label}, Redis: ≤ +2 ms at the median over the floor (event log recorded)`,
    measured: Number.isNaN(value) ? 'skipped: no Redis' : `${fmt(value)} ms`,
    pass: Number.isNaN(value) ? undefined : value <= 2,
  });
  return {
    tables: [
      {
        title: '1. Time to the first token over HTTP (ms, client-side)',
        headers: [
          'Server',
          'turns',
          'median',
          'p99',
          'added vs floor (median)',
          'paired diff (median)',
          'fresh server, turns after a reconnect: added (median; floor: its median)',
        ],
        rows,
        notes: [
          `AI SDK adds ${fmt(added.aisdk ?? Number.NaN)} ms over the floor; mcp-llmchat (memory) adds ${fmt(lib)} ms;`,
          `calling the provider with fetch (undici) instead of http.request alone costs ${fmt(added['floor-fetch'] ?? Number.NaN)} ms.`,
          'Every mcp-llmchat turn records its event log (kept 10 minutes for resume and idempotent retries);',
          'handler.fetch is mounted with `getRequestListener` of @hono/node-server (what a Hono app on Node runs).',
          `The first columns are the steady state: ${options.turns} rounds recorded after ${options.warmup + options.turns + options.settle} rounds of every variant, the library's history cleared between turns (DELETE /history).`,
          `The last is how this table read until issue 17's fourteenth round: rounds ${options.warmup + 1}–${options.warmup + options.turns} of the fresh server (before V8 optimized the per-turn code), each default-conversation library turn right after a reconnect (whose MCP listing runs between every variant's turns; the named conversation clears its history in both passes).`,
        ],
      },
      inProcess.table,
    ],
    targets: [
      {
        target: 'first token, Express, memory: ≤ +0.5 ms at the median over the floor (event log recorded)',
        measured: `${fmt(lib)} ms`,
        pass: lib <= 0.5,
      },
      {
        target: 'first token, handler.fetch on node:http, memory: ≤ +0.5 ms at the median over the floor',
        measured: `${fmt(viaFetch)} ms`,
        pass: viaFetch <= 0.5,
      },
      {
        target: 'first token, Express, memory, named conversation: ≤ +0.5 ms over the floor',
        measured: `${fmt(conversation)} ms`,
        pass: conversation <= 0.5,
      },
      {
        target:
          '(info) first token, fresh server, plain turns after a reconnect, Express / handler.fetch / named, memory',
        measured: `${['lib-memory', 'fetch-memory', 'lib-conversation'].map((name) => fmt(freshAdded(name))).join(' / ')} ms`,
        pass: undefined,
      },
      redisTarget('Express', redis),
      redisTarget('handler.fetch', viaFetchRedis),
      {
        target: '(issue 4) ChatService.chat() first token vs direct fetch, no HTTP',
        measured: `${fmt(inProcess.added)} ms added`,
        pass: undefined,
      },
    ],
  };
}

/** `ChatService.chat()` vs a direct `fetch` of the provider, in this process, no HTTP server. */
async function inProcessFirstToken(
  env: BenchEnv,
  options: FirstTokenOptions,
): Promise<{ table: Table; added: number }> {
  const provider = new OpenAIProvider({ kind: 'openai_compatible', baseUrl: env.info.llmUrl, apiKey: 'sk-bench' });
  const toolbox = await McpToolbox.connect([{ url: env.info.mcpUrl }]);
  try {
    const service = new ChatService({ provider, model: 'fake-model', tools: toolbox });
    const tools = toolbox.listTools().map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
    }));
    const body = JSON.stringify({
      model: 'fake-model',
      messages: [{ role: 'user', content: 'hello' }],
      tools,
      stream: true,
      stream_options: { include_usage: true },
    });
    const samples = await interleave(
      [
        {
          name: 'fetch',
          run: async () => {
            const started = performance.now();
            const response = await fetch(`${env.info.llmUrl}/chat/completions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
              body,
            });
            const reader = (response.body as ReadableStream<Uint8Array>).getReader();
            const decoder = new TextDecoder();
            let first = Number.NaN;
            let text = '';
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              if (Number.isNaN(first)) {
                text += decoder.decode(value, { stream: true });
                if (text.includes(FORMATS.floor.token)) first = performance.now() - started;
              }
            }
            return first;
          },
        },
        {
          name: 'chat-service',
          run: async () => {
            const started = performance.now();
            let first = Number.NaN;
            let final = false;
            for await (const event of service.chat('hello')) {
              if (event.type === 'token' && Number.isNaN(first)) first = performance.now() - started;
              if (event.type === 'final') final = true;
            }
            if (!final) throw new Error('ChatService turn did not finish');
            return first;
          },
        },
      ],
      options.turns,
      options.warmup,
    );
    const direct = summarize(samples.fetch ?? []);
    const service_ = summarize(samples['chat-service'] ?? []);
    const added = service_.median - direct.median;
    return {
      added,
      table: {
        title: '1b. (issue 4) Library overhead without HTTP: first token in-process (ms)',
        headers: ['Path', 'turns', 'median', 'p99', 'added (median)'],
        rows: [
          ['direct fetch of the provider', String(direct.n), fmt(direct.median), fmt(direct.p99), '—'],
          [
            'ChatService.chat() (OpenAIProvider + McpToolbox)',
            String(service_.n),
            fmt(service_.median),
            fmt(service_.p99),
            fmt(added),
          ],
        ],
      },
    };
  } finally {
    await toolbox.close();
  }
}
