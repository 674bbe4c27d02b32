import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { calculate } from './tools/calculate.js';
import { convertUnits } from './tools/convert-units.js';
import { currentTime } from './tools/current-time.js';
import { describeDistance, UNITS_FORM, type UnitsAnswer } from './tools/distance-in-units.js';
import { NotesStore } from './tools/notes-store.js';

/** Options of {@link startDemoMcpServer}. */
export interface DemoMcpServerOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

/** A running demo MCP server. */
export interface DemoMcpServer {
  /** The Streamable HTTP endpoint, e.g. `http://127.0.0.1:41234/mcp`. */
  url: string;
  /** The names of the tools it offers. */
  tools: string[];
  /** Closes every MCP session and the HTTP server. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const INVALID_JSON = Symbol('invalid JSON');

/**
 * Starts the demo's MCP server (Streamable HTTP, stateful sessions) on loopback, offering
 * `calculate`, `current_time`, `convert_units`, `notes_search`, `notes_add`, `notes_delete`
 * (annotated destructive, so the demo asks before it runs) and `distance_in_my_units` (which asks
 * the user for their unit system with an MCP elicitation). Notes are shared by all sessions and
 * live as long as the process.
 *
 * @example
 * const mcp = await startDemoMcpServer();
 * console.log(mcp.url); // http://127.0.0.1:41234/mcp
 * await mcp.close();
 */
export async function startDemoMcpServer(options: DemoMcpServerOptions = {}): Promise<DemoMcpServer> {
  const notes = new NotesStore();
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let host = options.host ?? '127.0.0.1';

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJsonRpcError(res, 500, 'Internal server error');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/mcp') {
      sendJsonRpcError(res, 404, 'Not found: the MCP endpoint is /mcp');
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (body === INVALID_JSON) {
      sendJsonRpcError(res, 400, 'Parse error: the body is not JSON', -32700);
      return;
    }
    if (existing) {
      await existing.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST') {
      sendJsonRpcError(res, typeof sessionId === 'string' ? 404 : 400, 'No valid MCP session');
      return;
    }
    if (typeof sessionId === 'string' || !isInitializeRequest(body)) {
      // An unknown session id is 404 so clients know to start a new session.
      sendJsonRpcError(res, typeof sessionId === 'string' ? 404 : 400, 'No valid MCP session');
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
      // Only loopback names: a web page on another origin must not reach the tools (DNS rebinding).
      enableDnsRebindingProtection: true,
      allowedHosts: [`127.0.0.1:${port()}`, `localhost:${port()}`],
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await buildMcpServer(notes).connect(transport);
    await transport.handleRequest(req, res, body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = () => (server.address() as AddressInfo).port;
  if (host === '0.0.0.0' || host === '::') host = '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port()}/mcp`,
    tools: [
      'calculate',
      'current_time',
      'convert_units',
      'notes_search',
      'notes_add',
      'notes_delete',
      'distance_in_my_units',
    ],
    async close() {
      await Promise.allSettled([...sessions.values()].map((transport) => transport.close()));
      sessions.clear();
      await closeServer(server);
    },
  };
}

/** One `McpServer` per session, all sharing the notes store. Also served behind OAuth by `demo-oauth-mcp-server.ts`. */
export function buildMcpServer(notes: NotesStore): McpServer {
  const mcp = new McpServer({ name: 'mcp-llmchat-demo-tools', version: '1.0.0' });

  mcp.registerTool(
    'calculate',
    {
      title: 'Calculator',
      description:
        'Evaluates an arithmetic expression exactly. Supports + - * / % ^, parentheses, pi, e and ' +
        'sqrt, abs, round, floor, ceil, sin, cos, tan, ln, log, exp, min, max, pow. Example: "(3 + 4) * 2^3".',
      inputSchema: { expression: z.string().min(1).max(500).describe('The expression, e.g. "12 * 7"') },
      annotations: { readOnlyHint: true },
    },
    async ({ expression }) => run(() => `${expression.trim()} = ${formatNumber(calculate(expression))}`),
  );

  mcp.registerTool(
    'current_time',
    {
      title: 'Current time',
      description: 'The current date and time, in UTC or in a given IANA time zone.',
      inputSchema: {
        timezone: z.string().max(64).optional().describe('IANA time zone such as "Europe/Paris". Default UTC.'),
      },
      annotations: { readOnlyHint: true },
    },
    async ({ timezone }) => run(() => currentTime(timezone || 'UTC')),
  );

  mcp.registerTool(
    'convert_units',
    {
      title: 'Unit converter',
      description:
        'Converts a length (mm, cm, m, km, in, ft, yd, mi), mass (mg, g, kg, t, oz, lb, st) or ' +
        'temperature (C, F, K) between units.',
      inputSchema: {
        value: z.number().describe('The amount to convert'),
        from: z.string().min(1).max(32).describe('Unit of the value, e.g. "km" or "fahrenheit"'),
        to: z.string().min(1).max(32).describe('Unit wanted, e.g. "mi" or "celsius"'),
      },
      annotations: { readOnlyHint: true },
    },
    async ({ value, from, to }) =>
      run(() => {
        const c = convertUnits(value, from, to);
        return `${formatNumber(c.value)} ${c.from} = ${formatNumber(c.result)} ${c.to}`;
      }),
  );

  mcp.registerTool(
    'notes_search',
    {
      title: 'Search notes',
      description: 'Searches the shared notes by words. An empty query lists the newest notes.',
      inputSchema: {
        query: z.string().max(200).describe('Words to look for; empty for the newest notes'),
        limit: z.number().int().min(1).max(20).optional().describe('Most notes to return. Default 5.'),
      },
      annotations: { readOnlyHint: true },
    },
    async ({ query, limit }) =>
      run(() => {
        const found = notes.search(query, limit ?? 5);
        if (found.length === 0) return `No notes match "${query}".`;
        const list = found.map((note) => `- #${note.id}: ${note.text}`).join('\n');
        return `Found ${found.length} note${found.length === 1 ? '' : 's'}:\n${list}`;
      }),
  );

  mcp.registerTool(
    'notes_add',
    {
      title: 'Add a note',
      description: 'Saves a short note so it can be searched later.',
      inputSchema: { text: z.string().min(1).max(2000).describe('The note') },
    },
    async ({ text }) =>
      run(() => {
        const note = notes.add(text);
        return `Saved note #${note.id}: ${note.text}`;
      }),
  );

  mcp.registerTool(
    'notes_delete',
    {
      title: 'Delete a note',
      description: 'Deletes one of the shared notes by its number. It cannot be undone.',
      inputSchema: { id: z.number().int().min(1).describe('The note number, e.g. 3 for note #3') },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ id }) =>
      run(() => {
        const note = notes.delete(id);
        return `Deleted note #${note.id}: ${note.text}`;
      }),
  );

  mcp.registerTool(
    'distance_in_my_units',
    {
      title: 'Distance in your units',
      description:
        'Shows a distance given in kilometres in the unit system the user prefers; the user is asked which one.',
      inputSchema: { km: z.number().min(0).max(1e9).describe('The distance in kilometres') },
      annotations: { readOnlyHint: true },
    },
    async ({ km }) => {
      try {
        // An MCP elicitation: the chat page shows this form to the user and sends the answer back.
        const answer = await mcp.server.elicitInput({
          message: `Which unit system should I use to show ${km} km?`,
          requestedSchema: structuredClone(UNITS_FORM) as never,
        });
        return run(() => describeDistance(km, answer as UnitsAnswer));
      } catch (error) {
        return run(() => {
          throw error;
        });
      }
    },
  );

  return mcp;
}

/** Tool failures become MCP tool errors (`isError`), so the model sees the reason. */
function run(produce: () => string): CallToolResult {
  try {
    return { content: [{ type: 'text', text: produce() }] };
  } catch (error) {
    const message = error instanceof Error ? error.message : 'The tool failed.';
    return { content: [{ type: 'text', text: message }], isError: true };
  }
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(10)));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('Body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return INVALID_JSON;
  }
}

function sendJsonRpcError(res: ServerResponse, status: number, message: string, code = -32000): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
