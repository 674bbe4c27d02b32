import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { McpToolbox } from '../../src/mcp/index.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';

/** How a {@link startPingServer} server treats the client's replies to its pings. */
type ReplyHandling = 'hold' | 'ack';

interface PingServer {
  url: string;
  /** Reply POSTs received so far. */
  readonly replies: number;
  /** The most reply POSTs open at the same time. */
  readonly peakOpenReplies: number;
  close(): Promise<void>;
}

/**
 * A bare Streamable HTTP MCP server with one tool `t`. Calling it opens an event stream that
 * sends `pings` ping requests at once. With `hold`, every reply POST is kept open unanswered and
 * the call never ends; with `ack`, each reply is accepted after 10 ms, and once all of them are
 * in, the call's result goes out on the stream.
 */
async function startPingServer(pings: number, handling: ReplyHandling): Promise<PingServer> {
  let replies = 0;
  let open = 0;
  let peak = 0;
  let callStream: { res: ServerResponse; id: unknown } | undefined;
  const answer = (res: ServerResponse, id: unknown, result: unknown, headers: Record<string, string> = {}) =>
    res
      .writeHead(200, { 'content-type': 'application/json', ...headers })
      .end(JSON.stringify({ jsonrpc: '2.0', id, result }));
  const onReply = (res: ServerResponse) => {
    replies += 1;
    open += 1;
    peak = Math.max(peak, open);
    res.on('close', () => {
      open -= 1;
    });
    if (handling === 'hold') return;
    setTimeout(() => res.writeHead(202).end(), 10);
    if (replies === pings && callStream) {
      const message = { jsonrpc: '2.0', id: callStream.id, result: { content: [{ type: 'text', text: 'done' }] } };
      callStream.res.end(`data: ${JSON.stringify(message)}\n\n`);
    }
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    let body = '';
    for await (const chunk of req) body += chunk;
    const message = JSON.parse(body);
    if (message.method === 'initialize') {
      const result = {
        protocolVersion: message.params.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: 'pinger', version: '1' },
      };
      return answer(res, message.id, result, { 'mcp-session-id': 's1' });
    }
    if (message.method === 'tools/list') {
      return answer(res, message.id, { tools: [{ name: 't', inputSchema: { type: 'object' } }] });
    }
    if (message.method === 'tools/call') {
      callStream = { res, id: message.id };
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let events = '';
      for (let i = 0; i < pings; i++) events += `data: {"jsonrpc":"2.0","id":"p${i}","method":"ping"}\n\n`;
      res.write(events);
      return;
    }
    if (message.result !== undefined) return onReply(res);
    res.writeHead(202).end();
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    get replies() {
      return replies;
    },
    get peakOpenReplies() {
      return peak;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let healthy: TestMcpHttpServer;

beforeAll(async () => {
  healthy = await startTestMcpHttpServer();
});

afterAll(async () => {
  await healthy.close();
});

describe('replies to a server’s flood of requests', () => {
  it('keeps at most 4 replies open per connection, and other users still connect', async () => {
    const pinger = await startPingServer(200, 'hold');
    const toolbox = await McpToolbox.connect([{ url: pinger.url }], { toolTimeoutMs: 1_000 });
    try {
      const call = toolbox.callTool('t', {}).then(
        () => undefined,
        (error: unknown) => error,
      );
      // Another user, meanwhile: connects to a healthy server and calls a tool.
      const other = await McpToolbox.connect([{ url: healthy.url }], { connectTimeoutMs: 3_000 });
      try {
        expect((await other.callTool('add', { a: 2, b: 3 })).text).toBe('5');
      } finally {
        await other.close();
      }
      const error = await call;
      expect(isLlmChatError(error) && error.code).toBe('TIMEOUT');
      expect(pinger.peakOpenReplies).toBeLessThanOrEqual(4);
      expect(pinger.replies).toBeLessThanOrEqual(4);
    } finally {
      await toolbox.close();
      await pinger.close();
    }
  });

  it('sends queued replies in turn, so a server waiting for them gets every one', async () => {
    const pinger = await startPingServer(30, 'ack');
    const toolbox = await McpToolbox.connect([{ url: pinger.url }], { toolTimeoutMs: 5_000 });
    try {
      expect((await toolbox.callTool('t', {})).text).toBe('done');
      expect(pinger.replies).toBe(30);
      expect(pinger.peakOpenReplies).toBeLessThanOrEqual(4);
    } finally {
      await toolbox.close();
      await pinger.close();
    }
  });
});
