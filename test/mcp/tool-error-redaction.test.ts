import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { McpToolbox } from '../../src/mcp/mcp-toolbox.js';

// An MCP server whose tool call fails with an error that repeats the credentials it was sent.
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

async function echoingServer(): Promise<string> {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const message = JSON.parse(body) as { id?: number; method: string; params?: { protocolVersion?: string } };
    const answer = (payload: object): void => {
      res
        .writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 's1' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: message.id, ...payload }));
    };
    if (message.method === 'initialize') {
      return answer({
        result: {
          protocolVersion: message.params?.protocolVersion,
          capabilities: { tools: {} },
          serverInfo: { name: 'echo', version: '1' },
        },
      });
    }
    if (message.method === 'tools/list')
      return answer({ result: { tools: [{ name: 't', inputSchema: { type: 'object' } }] } });
    if (message.method === 'tools/call') {
      const echoed = `${req.headers.authorization} / ${req.headers['x-api-key']}`;
      return answer({ error: { code: -32603, message: `upstream rejected credentials: ${echoed}` } });
    }
    res.writeHead(202).end();
    return undefined;
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

/** Every message along an error's cause chain. */
function chainText(error: unknown): string {
  const texts: string[] = [];
  for (let link = error; link instanceof Error && texts.length < 10; link = link.cause) texts.push(link.message);
  return texts.join(' <- ');
}

describe('a tool call that fails with an error echoing the credentials sent', () => {
  it('masks them in the error and along its causes', async () => {
    const url = await echoingServer();
    const toolbox = await McpToolbox.connect([
      { url, authToken: 'tok-SECRET-123456', headers: { 'X-Api-Key': 'key-SECRET-654321' } },
    ]);
    try {
      const failure = await toolbox.callTool('t', {}).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ code: 'TOOL_ERROR' });
      const text = chainText(failure);
      expect(text).toContain('upstream rejected credentials');
      expect(text).not.toContain('tok-SECRET');
      expect(text).not.toContain('key-SECRET');
    } finally {
      await toolbox.close();
    }
  });
});
