import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withoutServerStream } from '../../src/mcp/without-server-stream.js';
import type { FetchLike } from '../../src/types.js';
import { jsonRequest, type Stack, startStack } from './stack.js';

interface Sent {
  method: string;
  url: string;
  /** The JSON-RPC method of a POST. */
  rpc?: string;
}

function rpcOf(body: unknown): string | undefined {
  return typeof body === 'string' ? (JSON.parse(body) as { method?: string }).method : undefined;
}

// `/connect` opens an MCP connection only to list the tools, and closes it before it answers. The
// SDK would open the optional GET event stream for the server's own messages on it as well; that
// stream is left out there, and kept on the connection a tool call opens.
describe('the connection that lists the tools opens no event stream for the server', () => {
  const sent: Sent[] = [];
  let stack: Stack;

  const recording: FetchLike = (input, init) => {
    const url = input instanceof URL ? input.href : input;
    const rpc = rpcOf(init?.body);
    sent.push({ method: init?.method ?? 'GET', url, ...(rpc ? { rpc } : {}) });
    return fetch(input, init);
  };

  beforeAll(async () => {
    stack = await startStack({ fetch: recording, connections: { idleMs: 60_000 } });
  });

  afterAll(async () => {
    await stack?.close();
  });

  const toServer = () => sent.filter((request) => request.url === stack.mcp.url);

  it('connect sends the handshake, the listing and the session end, and no GET', async () => {
    sent.length = 0;
    const answer = await stack.handler.fetch(jsonRequest('/connect', 'lister', { llm: { model: 'fake' } }));
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { tools: string[] }).tools).toContain('add');
    expect(toServer().map((request) => request.rpc ?? request.method)).toEqual([
      'initialize',
      'notifications/initialized',
      'tools/list',
      'DELETE',
    ]);
    expect(stack.mcp.sessionCount).toBe(0);
  });

  it('the connection of a tool call still opens the stream', async () => {
    const connected = await stack.handler.fetch(jsonRequest('/connect', 'caller', { llm: { model: 'fake' } }));
    expect(connected.status).toBe(200);
    sent.length = 0;
    const answer = await stack.handler.fetch(
      jsonRequest('/chat', 'caller', { message: 'add 2 and 3', streaming: false }),
    );
    expect(((await answer.json()) as { response: string }).response).toBe('The result is 5.');
    await vi.waitFor(() => expect(toServer().filter((request) => request.method === 'GET')).toHaveLength(1));
  });
});

describe('withoutServerStream', () => {
  const endpoint = new URL('https://mcp.example/mcp');
  const passed: string[] = [];
  const inner: FetchLike = async (input, init) => {
    passed.push(`${init?.method ?? 'GET'} ${input instanceof URL ? input.href : input}`);
    return new Response('{}', { status: 200 });
  };
  const wrapped = withoutServerStream(inner, endpoint);

  it('answers a GET of the endpoint with 405 itself', async () => {
    passed.length = 0;
    const viaUrl = await wrapped(endpoint, { method: 'GET', headers: { accept: 'text/event-stream' } });
    const viaString = await wrapped(endpoint.href);
    expect([viaUrl.status, viaString.status]).toEqual([405, 405]);
    expect(passed).toEqual([]);
  });

  it('sends everything else: POSTs, DELETEs, GETs of other URLs (OAuth discovery), resumptions', async () => {
    passed.length = 0;
    const resumed = await wrapped(endpoint, { method: 'GET', headers: new Headers({ 'Last-Event-ID': 'e1' }) });
    expect(resumed.status).toBe(200);
    await wrapped(endpoint, { method: 'POST', body: '{}' });
    await wrapped(endpoint, { method: 'delete' });
    await wrapped('https://mcp.example/.well-known/oauth-protected-resource/mcp', { method: 'GET' });
    await wrapped('https://other.example/mcp');
    expect(passed).toEqual([
      'GET https://mcp.example/mcp',
      'POST https://mcp.example/mcp',
      'delete https://mcp.example/mcp',
      'GET https://mcp.example/.well-known/oauth-protected-resource/mcp',
      'GET https://other.example/mcp',
    ]);
  });
});
