import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ElicitRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { copyWith } from '../internal/copy-with.js';
import { raceSignal } from '../internal/race-signal.js';
import type { FetchLike, Logger, McpServerConfig, McpTransportKind } from '../types.js';
import { createMcpTransport, type McpAuth } from './create-mcp-transport.js';
import { GuardedTransport } from './guarded-transport.js';
import { listAllTools, type ToolListLimits } from './list-all-tools.js';
import { SecretRedactor } from './secret-redactor.js';

// Tool results go to a model, which reads whatever came back; nothing here relies on their shape.
// The SDK's output-schema checks cost one Ajv instance and its compiled validators per session
// (per user), which is most of what a connected user weighs, so accept any output instead.
const ACCEPT_ANY_OUTPUT = {
  getValidator: () => (input: unknown) => ({ valid: true, data: input, errorMessage: undefined }),
} as jsonSchemaValidator;

/** Options of {@link McpConnection.open}. */
export interface McpConnectionOptions {
  /** The server's short name, for log lines (never its URL, which may hold secrets). */
  label: string;
  /** Deadline for connecting, the handshake and listing the tools, fallback included. */
  connectTimeoutMs: number;
  /** Sent in the `initialize` handshake. */
  clientInfo: { name: string; version: string };
  fetch?: FetchLike;
  logger?: Logger;
  /** OAuth for this server, when the host turned it on. */
  auth?: McpAuth;
  /** Replaces the built-in transport factory (and its SSE fallback). */
  createTransport?: (server: McpServerConfig) => Transport | Promise<Transport>;
  /** How many tools are kept and how big one may be. */
  toolLimits: ToolListLimits;
  /**
   * The server's tools as listed before (stored with the session): the connection takes them
   * instead of listing again, which saves a round trip on the way to a first tool call.
   */
  knownTools?: readonly Tool[];
  /** The longest one MCP message over HTTP may be. */
  maxMessageBytes?: number;
  /** Decides URLs other than the server's own (a legacy-SSE endpoint, a redirect target). */
  isUrlAllowed?: (url: URL) => boolean;
  /** Masks the header values sent to the server in what it answers; shared with the caller's logs. */
  redactor?: SecretRedactor;
  /** `false`: no event stream for the server's own messages (a connection that only lists tools). @default true */
  serverStream?: boolean;
  /**
   * Answers the server's `elicitation/create` requests. Only when it is set does the client
   * declare the elicitation capability (form and URL modes).
   */
  onElicit?: (params: unknown, signal: AbortSignal) => Promise<{ action: string; content?: Record<string, unknown> }>;
}

// Status codes with which a server that only speaks the 2024-11-05 HTTP+SSE protocol refuses
// the Streamable HTTP initialize POST (per the spec's backwards-compatibility section).
const LEGACY_SERVER_STATUSES = new Set([400, 404, 405]);
// How long close() waits for the server to acknowledge the end of the session.
const TERMINATE_SESSION_TIMEOUT_MS = 1_000;

/** Thrown inside {@link McpConnection.open} when the connect deadline passes. */
export class McpConnectTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`MCP connect did not finish within ${timeoutMs} ms`);
    this.name = 'McpConnectTimeoutError';
  }
}

/**
 * One live connection to one MCP server: the SDK client, its transport and the tools listed
 * right after the handshake. Not reused after the server loses the session: the toolbox opens
 * a new one instead.
 * @internal
 */
export class McpConnection {
  private closing?: Promise<void>;

  private constructor(
    /** The connected SDK client. */
    readonly client: Client,
    /** The transport the client runs on. */
    readonly transport: Transport,
    /** Every tool of the server, all pages. */
    readonly tools: Tool[],
    /** The transport actually used (after a fallback, `sse`). */
    readonly kind: McpTransportKind | 'custom',
  ) {
    this.toolsByName = new Map(tools.map((tool) => [tool.name, tool]));
  }

  /** {@link McpConnection.tools} by name. */
  readonly toolsByName: ReadonlyMap<string, Tool>;

  /**
   * Connects to the server, does the handshake and lists its tools, all within
   * `connectTimeoutMs`. For `streamable_http` (the default), a server that refuses the initialize
   * POST with 400, 404 or 405 is retried with the legacy SSE transport. Whatever was opened is
   * closed again on failure; the SDK's error is rethrown untouched (the caller wraps it).
   */
  static async open(server: McpServerConfig, given: McpConnectionOptions): Promise<McpConnection> {
    const options = given.redactor ? given : copyWith(given, { redactor: new SecretRedactor() });
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new McpConnectTimeoutError(options.connectTimeoutMs);
        controller.abort(error);
        reject(error);
      }, options.connectTimeoutMs);
    });
    try {
      return await Promise.race([McpConnection.openWithFallback(server, options, controller.signal), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private static async openWithFallback(
    server: McpServerConfig,
    options: McpConnectionOptions,
    signal: AbortSignal,
  ): Promise<McpConnection> {
    if (options.createTransport) {
      const transport = await options.createTransport(server);
      return McpConnection.attempt(transport, 'custom', options, signal);
    }
    const kind = server.transport ?? 'streamable_http';
    const transport = await createMcpTransport(server, kind, options);
    try {
      return await McpConnection.attempt(transport, kind, options, signal);
    } catch (error) {
      const legacy =
        kind === 'streamable_http' &&
        error instanceof StreamableHTTPError &&
        error.code !== undefined &&
        LEGACY_SERVER_STATUSES.has(error.code);
      if (!legacy || signal.aborted) throw error;
      options.logger?.info?.('MCP server does not speak Streamable HTTP; falling back to SSE', {
        server: options.label,
        status: error.code,
      });
      const fallback = await createMcpTransport(server, 'sse', options);
      return McpConnection.attempt(fallback, 'sse', options, signal);
    }
  }

  private static async attempt(
    transport: Transport,
    kind: McpTransportKind | 'custom',
    options: McpConnectionOptions,
    signal: AbortSignal,
  ): Promise<McpConnection> {
    const onElicit = options.onElicit;
    const capabilities = onElicit ? { elicitation: { form: {}, url: {} } } : {};
    const client = new Client(options.clientInfo, { capabilities, jsonSchemaValidator: ACCEPT_ANY_OUTPUT });
    if (onElicit) {
      client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
        const answer = await onElicit(request.params, extra.signal);
        if (answer.action !== 'accept') return { action: answer.action as 'decline' | 'cancel' };
        // Content only for a form; a URL-mode accept has none (MCP 2025-11-25).
        return answer.content === undefined ? { action: 'accept' } : { action: 'accept', content: answer.content };
      });
    }
    const logger = options.logger;
    client.onerror = (error) => {
      logger?.debug?.('MCP client error', { server: options.label, error: describeError(error, options.redactor) });
      // The SDK gave up re-opening a stream: the server is gone. Requests waiting on that stream
      // would otherwise hang until their timeout; closing rejects them as a lost connection.
      if (error instanceof Error && error.message.startsWith('Maximum reconnection attempts')) {
        void client.close().catch(() => undefined);
      }
    };
    try {
      const requestOptions = { signal, timeout: options.connectTimeoutMs };
      // The handshake's request timer does not cover transport start-up (SSE waits for its
      // endpoint event), so the abort below ends that wait too.
      await raceSignal(client.connect(transport, requestOptions), signal);
      if (options.knownTools) return new McpConnection(client, transport, [...options.knownTools], kind);
      const listed = await raceSignal(listAllTools(client, options.toolLimits, requestOptions), signal);
      if (listed.droppedOverCount > 0 || listed.droppedOversized > 0) {
        logger?.warn?.('MCP server offers more or bigger tools than allowed; some were left out', {
          server: options.label,
          kept: listed.tools.length,
          droppedOverCount: listed.droppedOverCount,
          droppedOversized: listed.droppedOversized,
          maxTools: options.toolLimits.maxTools,
          maxToolSchemaChars: options.toolLimits.maxToolSchemaChars,
        });
      }
      return new McpConnection(client, transport, listed.tools, kind);
    } catch (error) {
      await client.close().catch(() => undefined);
      // A transport that never started is not closed by the client; close it directly.
      await transport.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Closes the client and its transport (a stdio child is terminated). With `graceful`, an
   * HTTP session is first ended with a DELETE, waiting at most one second. Idempotent.
   */
  close(graceful = true): Promise<void> {
    this.closing ??= this.doClose(graceful);
    return this.closing;
  }

  private async doClose(graceful: boolean): Promise<void> {
    const transport = this.transport instanceof GuardedTransport ? this.transport.inner : this.transport;
    if (graceful && transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const giveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, TERMINATE_SESSION_TIMEOUT_MS);
      });
      await Promise.race([transport.terminateSession().catch(() => undefined), giveUp]);
      clearTimeout(timer);
    }
    await this.client.close().catch(() => undefined);
  }
}

/**
 * A short, log-safe description of an SDK error: at most 200 characters, with the header values
 * the connection sent (tokens) masked when a redactor is given.
 */
export function describeError(error: unknown, redactor?: SecretRedactor): string {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  const text =
    error instanceof Error
      ? `${error.name}${code === undefined ? '' : ` ${String(code)}`}: ${error.message}`
      : String(error);
  // Masked before cutting, so a token cut in half cannot slip through.
  return (redactor ? redactor.redact(text.slice(0, 4096)) : text).slice(0, 200);
}
