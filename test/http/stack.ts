import type { ChatHandlerOptions } from '../../src/http/chat-handler-options.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import type { FakeReply, RecordedRequest } from '../fixtures/fake-llm-common.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';

/** The secrets of the test stack: no response may ever contain one of them. */
export const SECRETS = { apiKey: 'sk-test-LEAKCHECK-4242', mcpToken: 'mcp-token-LEAKCHECK-7777' };

/**
 * How the fake LLM decides, by the conversation it is sent:
 * - the last message is a tool result → it answers `The result is <result>.`
 * - the user asks "add A and B" → it calls the `add` tool;
 * - "slowly" → a long answer streamed a chunk every 20 ms (4 s; "slowly but briefly": 1.2 s);
 * - anything else → "Hello from the fake."
 */
export function smartReply(request: RecordedRequest): FakeReply {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = messages.at(-1);
  if (last?.role === 'tool') return { kind: 'text', chunks: ['The result', ` is ${String(last.content)}.`] };
  const text = typeof last?.content === 'string' ? last.content : '';
  const add = /add (\d+) and (\d+)/i.exec(text);
  if (add) return { kind: 'tool_calls', calls: [{ name: 'add', arguments: { a: Number(add[1]), b: Number(add[2]) } }] };
  if (/slowly/i.test(text)) {
    const length = /briefly/i.test(text) ? 60 : 200;
    return { kind: 'text', chunks: Array.from({ length }, (_, i) => `w${i} `), delayMs: 20 };
  }
  return { kind: 'text', chunks: ['Hello', ' from', ' the fake.'] };
}

/** Authenticates `Authorization: Bearer user:<id>`. */
export async function bearerUser(request: Request) {
  const match = /^Bearer user:(.+)$/.exec(request.headers.get('authorization') ?? '');
  return match?.[1] ? { id: match[1] } : null;
}

export interface Stack {
  llm: FakeLlmServer;
  mcp: TestMcpHttpServer;
  handler: ReturnType<typeof createChatHandler>;
  options: ChatHandlerOptions;
  close(): Promise<void>;
}

/** A fake OpenAI-compatible LLM, a real MCP server over Streamable HTTP, and a handler over them. */
export async function startStack(overrides: Partial<ChatHandlerOptions> = {}): Promise<Stack> {
  const llm = await startFakeOpenAI({ reply: smartReply });
  const mcp = await startTestMcpHttpServer({ authToken: SECRETS.mcpToken });
  const options: ChatHandlerOptions = {
    authenticate: bearerUser,
    models: [
      { id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: SECRETS.apiKey, name: 'Fake model' },
      { id: 'off', provider: 'openai_compatible', baseUrl: llm.url, enabled: false },
    ],
    mcp: { defaultServer: { url: mcp.url, authToken: SECRETS.mcpToken }, allowedUrls: [mcp.url] },
    keepAliveMs: 0,
    ...overrides,
  };
  const handler = createChatHandler(options);
  return {
    llm,
    mcp,
    handler,
    options,
    async close() {
      await handler.close();
      await Promise.all([llm.close(), mcp.close()]);
    },
  };
}

/** A JSON request for `handler.fetch`. */
export function jsonRequest(
  path: string,
  user: string | null,
  body?: unknown,
  method = body === undefined ? 'GET' : 'POST',
) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (user) headers.authorization = `Bearer user:${user}`;
  return new Request(`http://local${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

/** A parsed SSE frame, read with the suites' one SSE reader. */
export type { SseFrame as Frame } from '../fixtures/sse-reader.js';
/** Reads an SSE body to its end (see test/fixtures/sse-reader.ts). */
export { readSseFrames as readFrames } from '../fixtures/sse-reader.js';
