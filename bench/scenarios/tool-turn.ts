/**
 * Scenario 3: a turn with one tool call (the LLM asks for `add`, the MCP server runs it, the LLM
 * answers), end to end at the client: through mcp-llmchat, through the AI SDK, and as a plain
 * script in the bench process that calls the fake provider twice and the MCP server directly
 * (MCP SDK `Client`, connected once) — the least any implementation must do.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type BenchEnv, connectUser } from '../lib/bench-env.js';
import { interleave } from '../lib/interleave.js';
import { fmt, summarize } from '../lib/stats.js';
import { FORMATS, postStream, type StreamFormat, userHeaders } from '../lib/stream-client.js';
import type { ScenarioResult } from './first-token.js';

/** Turn counts of the scenario. */
export interface ToolTurnOptions {
  turns: number;
  warmup: number;
}

const USER = 'bench-tool';
const MESSAGE = 'add 2 and 3';

export async function toolTurnScenario(env: BenchEnv, options: ToolTurnOptions): Promise<ScenarioResult> {
  const ports = [
    env.ports.lib,
    env.ports.libRedis,
    env.ports.libFetch,
    env.ports.libFetchRedis,
    env.ports.libApprovals,
  ];
  for (const port of ports) if (port !== undefined) await connectUser(port, USER);
  const client = new Client({ name: 'bench-direct', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(env.info.mcpUrl)));
  try {
    const { tools: mcpTools } = await client.listTools();
    const tools = mcpTools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
    }));
    const direct = () => directToolTurn(env.info.llmUrl, client, tools);
    const turn = (url: string, body: unknown, format: StreamFormat, headers?: Record<string, string>) => async () => {
      const timing = await postStream(url, body, format, { keepBody: true, ...(headers ? { headers } : {}) });
      if (timing.status !== 200 || !timing.complete || !timing.body?.includes('The result')) {
        throw new Error(`tool turn from ${url} did not answer: ${timing.body?.slice(-1500)}`);
      }
      return timing.totalMs;
    };
    const chatBody = { message: MESSAGE, streaming: true };
    const samples = await interleave(
      [
        { name: 'direct', run: direct },
        {
          name: 'lib-memory',
          run: turn(env.url(env.ports.lib, '/llmchat/chat'), chatBody, FORMATS.lib, userHeaders(USER)),
        },
        {
          name: 'lib-redis',
          run: turn(env.url(env.ports.libRedis, '/llmchat/chat'), chatBody, FORMATS.lib, userHeaders(USER)),
        },
        {
          name: 'fetch-memory',
          run: turn(env.url(env.ports.libFetch, '/llmchat/chat'), chatBody, FORMATS.lib, userHeaders(USER)),
        },
        {
          name: 'fetch-redis',
          run: turn(env.url(env.ports.libFetchRedis, '/llmchat/chat'), chatBody, FORMATS.lib, userHeaders(USER)),
        },
        {
          name: 'lib-approvals',
          run: turn(env.url(env.ports.libApprovals, '/llmchat/chat'), chatBody, FORMATS.lib, userHeaders(USER)),
        },
        { name: 'aisdk', run: turn(env.url(env.ports.aisdk, '/chat'), { message: MESSAGE }, FORMATS.aisdk) },
      ].filter(
        (variant) =>
          (variant.name !== 'lib-redis' || env.ports.libRedis !== undefined) &&
          (variant.name !== 'fetch-redis' || env.ports.libFetchRedis !== undefined),
      ),
      options.turns,
      options.warmup,
    );
    const base = summarize(samples.direct ?? []);
    const labels: Record<string, string> = {
      direct: 'plain script: fetch ×2 + MCP Client.callTool (floor)',
      'lib-memory': 'mcp-llmchat, Express, memory',
      'lib-redis': 'mcp-llmchat, Express, Redis',
      'fetch-memory': 'mcp-llmchat, handler.fetch on node:http, memory',
      'fetch-redis': 'mcp-llmchat, handler.fetch on node:http, Redis',
      'lib-approvals': 'mcp-llmchat, Express, memory, approvals configured (never asks)',
      aisdk: 'AI SDK 6 streamText + @ai-sdk/mcp, Express',
    };
    const added: Record<string, number> = {};
    const rows = Object.entries(samples).map(([name, values]) => {
      const summary = summarize(values);
      added[name] = summary.median - base.median;
      return [
        labels[name] ?? name,
        String(summary.n),
        fmt(summary.median),
        fmt(summary.p99),
        name === 'direct' ? '—' : fmt(added[name] ?? Number.NaN),
      ];
    });
    return {
      tables: [
        {
          title: '3. A turn with one tool call, end to end (ms)',
          headers: ['Path', 'turns', 'median', 'p99', 'added vs plain script (median)'],
          rows,
          notes: [
            'The plain script runs in the bench client itself (no HTTP hop to a server), so the servers’ figures',
            'also include one loopback HTTP request/stream to the client.',
          ],
        },
      ],
      targets: [
        ...(
          [
            ['lib-memory', 'Express, memory'],
            ['lib-redis', 'Express, Redis'],
            ['fetch-memory', 'handler.fetch, memory'],
            ['fetch-redis', 'handler.fetch, Redis'],
            ['lib-approvals', 'Express, memory, approvals configured'],
          ] as const
        )
          .filter(([name]) => samples[name] !== undefined)
          .map(([name, label]) => {
            const value = added[name] ?? Number.NaN;
            return {
              target: `tool turn, ${label}: ≤ +2 ms over calling the provider and MCP directly`,
              measured: `${fmt(value)} ms`,
              pass: value <= 2,
            };
          }),
        {
          target: '(info) AI SDK tool turn over the plain script',
          measured: `${fmt(added.aisdk ?? Number.NaN)} ms`,
          pass: undefined,
        },
      ],
    };
  } finally {
    await client.close();
  }
}

/** One tool turn done by hand: stream the LLM, run the call, stream the LLM again. */
async function directToolTurn(llmUrl: string, client: Client, tools: unknown[]): Promise<number> {
  const started = performance.now();
  const messages: unknown[] = [{ role: 'user', content: MESSAGE }];
  const first = await streamCompletion(llmUrl, { model: 'fake-model', messages, tools });
  const call = first.toolCalls[0];
  if (!call) throw new Error('the fake did not call a tool');
  const result = await client.callTool({ name: call.name, arguments: JSON.parse(call.arguments) });
  const text = (result.content as Array<{ type: string; text?: string }>).map((part) => part.text ?? '').join('');
  messages.push(
    { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: call }] },
    { role: 'tool', tool_call_id: call.id, content: text },
  );
  const second = await streamCompletion(llmUrl, { model: 'fake-model', messages, tools });
  if (!second.text.includes('is 5.')) throw new Error('the direct turn did not answer');
  return performance.now() - started;
}

interface Completion {
  text: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
}

/** Streams one completion with `fetch` and parses its frames, as a minimal client must. */
async function streamCompletion(llmUrl: string, request: Record<string, unknown>): Promise<Completion> {
  const response = await fetch(`${llmUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }),
  });
  const body = await response.text();
  const completion: Completion = { text: '', toolCalls: [] };
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice(6)) as {
      choices: Array<{
        delta: {
          content?: string;
          tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }>;
        };
      }>;
    };
    const delta = chunk.choices[0]?.delta;
    if (!delta) continue;
    if (delta.content) completion.text += delta.content;
    for (const piece of delta.tool_calls ?? []) {
      let call = completion.toolCalls[piece.index];
      if (!call) {
        call = { id: '', name: '', arguments: '' };
        completion.toolCalls[piece.index] = call;
      }
      if (piece.id) call.id = piece.id;
      if (piece.function?.name) call.name = piece.function.name;
      if (piece.function?.arguments) call.arguments += piece.function.arguments;
    }
  }
  return completion;
}
