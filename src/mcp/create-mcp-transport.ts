import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { LlmChatError } from '../errors.js';
import type { FetchLike, Logger, McpServerConfig, McpTransportKind } from '../types.js';
import { GuardedTransport } from './guarded-transport.js';
import { McpHttpExchanges } from './mcp-http-exchanges.js';
import { SecretRedactor } from './secret-redactor.js';
import { withoutServerStream } from './without-server-stream.js';

/** Options of {@link createMcpTransport}. */
export interface CreateMcpTransportOptions {
  /**
   * The fetch the HTTP transports run on. Without it they use the library's undici transport, which
   * answers a redirect instead of following it (the SDK then fails the request).
   */
  fetch?: FetchLike;
  /** Receives the stdio child's stderr lines (at `debug`); without it stderr is ignored. */
  logger?: Logger;
  /** The server's short name, for log lines. */
  label?: string;
  /**
   * The longest one MCP message over HTTP may be (a JSON body, or one event of an event
   * stream). @default 8388608 (8 MiB)
   */
  maxMessageBytes?: number;
  /** Decides URLs other than the server's own (a legacy-SSE endpoint, a redirect target). */
  isUrlAllowed?: (url: URL) => boolean;
  /** Masks the header values sent in error pages the server answers with. */
  redactor?: SecretRedactor;
  /** OAuth for this server: the SDK's `authProvider`, and the fetches that go with it. */
  auth?: McpAuth;
  /**
   * Whether a Streamable HTTP connection opens the event stream on which the server sends messages
   * outside any request (see {@link withoutServerStream}). `false` for a connection that only lists
   * the tools. @default true
   */
  serverStream?: boolean;
}

/** How one MCP connection authorizes with OAuth. */
export interface McpAuth {
  /** Passed to the SDK transport as its `authProvider`. */
  provider: OAuthClientProvider;
  /** Replaces `fetch` under the MCP exchanges of this connection (to refresh tokens on a 401). */
  fetch: FetchLike;
  /**
   * The transport's fetch: MCP exchanges through `mcpFetch`, the OAuth protocol's own requests
   * (discovery, registration, tokens: other hosts, no bearer) to the authorization server.
   */
  route(mcpFetch: FetchLike): FetchLike;
}

/** The default of {@link CreateMcpTransportOptions.maxMessageBytes}. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * Builds the SDK client transport for one MCP server, of the given kind:
 * - `streamable_http`: `StreamableHTTPClientTransport`;
 * - `sse`: the older HTTP+SSE `SSEClientTransport`;
 * - `stdio`: `StdioClientTransport` spawning `command` with `args`. `env` is added to the SDK's
 *   safe default environment (PATH, HOME, …), not to the whole parent environment. The SDK's
 *   stdio module is loaded only here, so hosts without `child_process` can load the library.
 *
 * `authToken` becomes `Authorization: Bearer <token>`, sent with `headers` on every request
 * (the SSE transport also uses them to open its event stream). Credentials written in the URL
 * (`https://user:pass@host/`) are moved into a Basic `Authorization` header, because `fetch`
 * refuses URLs that carry them; an explicit `authToken` wins.
 *
 * The HTTP transports run on {@link McpHttpExchanges} behind a {@link GuardedTransport}: every
 * response is bounded, torn down with its call or the connection, and a response that ends
 * without its answer fails its request at once.
 *
 * Throws `BAD_REQUEST` for a missing or malformed URL and `CONFIG_INVALID` for a stdio server
 * without a command. Allowing stdio at all is the caller's decision.
 * @internal
 */
export async function createMcpTransport(
  server: McpServerConfig,
  kind: McpTransportKind,
  options: CreateMcpTransportOptions = {},
): Promise<Transport> {
  if (kind === 'stdio') return createStdioTransport(server, options);
  const { url, headers } = httpTarget(server);
  const redactor = options.redactor ?? new SecretRedactor();
  redactor.learnHeaders(headers);
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  let guarded: GuardedTransport | undefined;
  const exchanges = new McpHttpExchanges({
    maxMessageBytes,
    serverUrl: url,
    ...(options.auth ? { fetch: options.auth.fetch } : options.fetch ? { fetch: options.fetch } : {}),
    ...(options.isUrlAllowed ? { isUrlAllowed: options.isUrlAllowed } : {}),
    legacySse: kind === 'sse',
    onStreamLost: () => {
      options.logger?.debug?.('MCP event stream ended; closing the connection', { server: options.label });
      void guarded?.close().catch(() => undefined);
    },
    redactor,
  });
  const requestInit: RequestInit = { headers };
  const mcpFetch =
    options.serverStream === false && kind === 'streamable_http'
      ? withoutServerStream(exchanges.fetch, url)
      : exchanges.fetch;
  const fetch = options.auth ? options.auth.route(mcpFetch) : mcpFetch;
  const common = { requestInit, fetch, ...(options.auth ? { authProvider: options.auth.provider } : {}) };
  const inner = kind === 'sse' ? new SSEClientTransport(url, common) : new StreamableHTTPClientTransport(url, common);
  guarded = new GuardedTransport(inner, exchanges, maxMessageBytes);
  return guarded;
}

function httpTarget(server: McpServerConfig): { url: URL; headers: Record<string, string> } {
  let url: URL;
  try {
    url = new URL(server.url ?? '');
  } catch (error) {
    throw new LlmChatError('BAD_REQUEST', 'The MCP server URL is missing or invalid.', { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LlmChatError('BAD_REQUEST', 'The MCP server URL must use http or https.');
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(server.headers ?? {})) {
    // One spelling of Authorization, so a token below replaces rather than duplicates it.
    headers[name.toLowerCase() === 'authorization' ? 'Authorization' : name] = value;
  }
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.Authorization ??= `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  if (server.authToken) headers.Authorization = `Bearer ${server.authToken}`;
  return { url, headers };
}

async function createStdioTransport(server: McpServerConfig, options: CreateMcpTransportOptions): Promise<Transport> {
  if (!server.command) {
    throw new LlmChatError('CONFIG_INVALID', 'A stdio MCP server needs a command.');
  }
  const { StdioClientTransport, getDefaultEnvironment } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  const logger = options.logger;
  const transport = new StdioClientTransport({
    command: server.command,
    args: server.args ?? [],
    ...(server.env ? { env: { ...getDefaultEnvironment(), ...server.env } } : {}),
    // Never inherit: the library does not write to the host's console.
    stderr: logger?.debug ? 'pipe' : 'ignore',
  });
  const stderr = transport.stderr;
  if (stderr && logger?.debug) {
    let pending = '';
    stderr.on('data', (chunk: Buffer | string) => {
      const lines = (pending + chunk.toString()).split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line !== '') logger.debug?.('MCP server stderr', { server: options.label, line });
      }
    });
  }
  return transport;
}
