import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import type { FetchLike, Logger, McpServerConfig, ToolSpec } from '../types.js';
import { onAbort, raceAbort } from './abort-fanout.js';
import { classifyMcpError } from './classify-mcp-error.js';
import { DEFAULT_MAX_MESSAGE_BYTES, type McpAuth } from './create-mcp-transport.js';
import { ElicitationRouter } from './elicitation-router.js';
import { describeError, McpConnection } from './mcp-connection.js';
import { SecretRedactor } from './secret-redactor.js';
import type { StoredTool } from './stored-tool.js';
import { DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_RESULT_CHARS, toToolResult } from './tool-result.js';
import type { ToolCallOptions, ToolResult, ToolSource } from './tool-source.js';
import { uniqueToolNames } from './unique-tool-names.js';

/** Options of {@link McpToolbox.connect}. */
export interface McpToolboxOptions {
  /** How long one tool call may take, unless the call sets its own `timeoutMs`. @default 60000 */
  toolTimeoutMs?: number;
  /** How long connecting to one server may take, handshake and tool listing included. @default 10000 */
  connectTimeoutMs?: number;
  /** Longest tool result text handed to the model; longer ones keep head and tail. @default 20000 */
  maxResultChars?: number;
  /**
   * Decoded bytes of images one tool result may carry to the model (and into the history). An
   * image that does not fit is left out and described in the text instead. @default 2097152 (2 MiB)
   */
  maxImageBytes?: number;
  /**
   * The longest one MCP message over HTTP may be: a JSON response, or one event of an event
   * stream. A longer answer is cut off (the socket is closed) and its call fails with
   * `TOOL_ERROR`. @default 8388608 (8 MiB)
   */
  maxMessageBytes?: number;
  /**
   * Tools kept per server. A server that offers more gets the first ones kept, no further page
   * listed, and a `warn` log line. @default 1000
   */
  maxToolsPerServer?: number;
  /**
   * Characters of one tool's JSON input schema plus description. Bigger tools are left out, with
   * a `warn` log line. @default 65536
   */
  maxToolSchemaChars?: number;
  /**
   * Decides whether an MCP HTTP request may go to `url` when it is not the server's own URL: the
   * message endpoint a legacy-SSE server names, or a redirect target. A refused URL gets no
   * request at all (no headers leak) and the connect fails with `SERVER_NOT_ALLOWED`.
   * @default only the server's origin (the SDK's own check)
   */
  isUrlAllowed?: (url: string, server: Readonly<McpServerConfig>) => boolean;
  /**
   * Allows `stdio` servers, which spawn a process on this machine. Only set it when the server
   * configurations come from the host, never from a client request. @default false
   */
  allowStdio?: boolean;
  /**
   * The fetch the HTTP transports run on. Without it they use the library's undici transport, which
   * answers a redirect instead of following it (the SDK then fails the request).
   */
  fetch?: FetchLike;
  /** Receives connection diagnostics (fallbacks, reconnects, SDK errors, stdio stderr). */
  logger?: Logger;
  /**
   * Lets servers ask the user for input mid-call (`elicitation/create`, form and URL modes): the
   * capability is declared only when this is set, and a request goes to the `onElicitation` of
   * the call running on that server. A call on a server that may ask gets
   * `elicitationTimeoutMs` on top of its own timeout, for the user to answer. @default false
   */
  elicitation?: boolean;
  /** How long a user may take to answer an elicitation. @default 120000 */
  elicitationTimeoutMs?: number;
  /** Sent to servers in the handshake. @default { name: 'mcp-llmchat', version: '0.1.0' } */
  clientInfo?: { name: string; version: string };
  /**
   * Builds the transport of a server instead of the built-in factory (no SSE fallback then).
   * Called again on every reconnect. Used for in-memory servers in tests and for custom transports.
   */
  createTransport?: (server: McpServerConfig) => Transport | Promise<Transport>;
  /** OAuth for a server (asked again on every reconnect); undefined for servers without it. */
  oauthFor?: (server: McpServerConfig) => McpAuth | undefined;
  /**
   * The tools of each server (by index) as listed before, from {@link McpToolbox.storedTools}:
   * connecting skips listing them again. A reconnect (the server lost the session) lists anew.
   */
  knownTools?: ReadonlyArray<readonly Tool[] | undefined>;
  /**
   * `false` for a toolbox that only lists the tools and closes: its Streamable HTTP connections
   * open no event stream for the servers' own messages, since nothing would hear them.
   * @default true
   */
  serverStream?: boolean;
}

interface ServerSlot {
  readonly config: McpServerConfig;
  readonly name: string;
  /** Masks what this server was sent (its token) in log lines about it. */
  readonly redactor: SecretRedactor;
  connection: McpConnection;
  reconnecting?: Promise<McpConnection>;
}

interface ToolEntry {
  readonly slot: ServerSlot;
  readonly originalName: string;
  readonly annotations?: ToolAnnotations;
}

/** Raised internally when a call failed because the server lost our session. */
class SessionLostError extends Error {}

const DEFAULT_TOOL_TIMEOUT_MS = 60_000;
const DEFAULT_ELICITATION_TIMEOUT_MS = 120_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_TOOLS_PER_SERVER = 1000;
const DEFAULT_MAX_TOOL_SCHEMA_CHARS = 65_536;
const DEFAULT_CLIENT_INFO = { name: 'mcp-llmchat', version: '0.1.0' };
const CONNECT_FAILED = 'Failed to connect to MCP server. Please verify the server URL and authentication.';

/**
 * The tools of one or more MCP servers, behind the {@link ToolSource} interface the chat loop
 * uses. Built with {@link McpToolbox.connect}, which connects every server in parallel and lists
 * their tools once.
 *
 * Tool names are unique and fit what every provider accepts (`[A-Za-z0-9_-]`, at most 64): a
 * name offered by two servers becomes `${serverName}_${tool}` for each (the server name is
 * `config.name`, else `server1`, `server2`, …), and a name outside that form is cleaned, cut
 * or given a short stable hash suffix; calls go out under the server's own name.
 *
 * When a server loses our session (HTTP 404 "session not found", closed transport, a restarted
 * server), the toolbox reconnects once — one reconnect shared by all concurrent callers — and
 * relists that server's tools. The failed call is repeated only for tools annotated
 * `readOnlyHint: true` or `idempotentHint: true`; any other tool might have run already, so the
 * call rejects with `TOOL_ERROR` (recoverable: the connection is back and the next call uses
 * it). If the reconnect itself fails, the call rejects with `MCP_UNAVAILABLE`.
 *
 * @example
 * const toolbox = await McpToolbox.connect([{ url: 'http://127.0.0.1:8000/mcp', authToken }], { logger: console });
 * const tools = toolbox.listTools();
 * const result = await toolbox.callTool('add', { a: 2, b: 3 }, { signal });
 * await toolbox.close();
 */
export class McpToolbox implements ToolSource {
  private readonly slots: ServerSlot[];
  private readonly options: McpToolboxOptions;
  private readonly elicitations: ElicitationRouter | undefined;
  private entries = new Map<string, ToolEntry>();
  private specs: readonly ToolSpec[] = [];
  private closing?: Promise<void>;

  private constructor(slots: ServerSlot[], options: McpToolboxOptions, elicitations: ElicitationRouter | undefined) {
    this.slots = slots;
    this.options = options;
    this.elicitations = elicitations;
    this.rebuildTools();
  }

  /**
   * Connects to every server in parallel and lists their tools (all pages). Any failure closes
   * whatever was opened and rejects: `CONFIG_INVALID` for a limit that is not a positive
   * integer, `SERVER_NOT_ALLOWED` for a stdio server without
   * `allowStdio`, `BAD_REQUEST` for a missing or malformed URL, `CONFIG_INVALID` for a stdio
   * server without a command, and `MCP_UNAVAILABLE` for a server that cannot be reached, refuses
   * us (401, 403) or does not answer within `connectTimeoutMs`. Messages never include URLs or
   * tokens; the SDK's error is kept as `cause`.
   */
  static async connect(servers: McpServerConfig[], options: McpToolboxOptions = {}): Promise<McpToolbox> {
    assertLimits(options);
    servers.forEach((server) => {
      if (server.transport === 'stdio' && options.allowStdio !== true) {
        throw new LlmChatError('SERVER_NOT_ALLOWED', 'stdio MCP servers are not allowed.');
      }
    });
    const names = servers.map((server, index) => server.name ?? `server${index + 1}`);
    const redactors = servers.map(() => new SecretRedactor());
    const elicitations =
      options.elicitation === true
        ? new ElicitationRouter(options.logger ? { logger: options.logger } : {})
        : undefined;
    const opened = await Promise.allSettled(
      servers.map((server, index) =>
        McpToolbox.open(
          server,
          names[index] ?? `server${index + 1}`,
          redactors[index] as SecretRedactor,
          options,
          elicitations,
          options.knownTools?.[index],
        ),
      ),
    );
    const failure = opened.find((outcome) => outcome.status === 'rejected');
    if (failure) {
      await Promise.allSettled(
        opened.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.close() : undefined)),
      );
      throw (failure as PromiseRejectedResult).reason;
    }
    const slots = opened.map((outcome, index) => ({
      config: servers[index] as McpServerConfig,
      name: names[index] as string,
      redactor: redactors[index] as SecretRedactor,
      connection: (outcome as PromiseFulfilledResult<McpConnection>).value,
    }));
    return new McpToolbox(slots, options, elicitations);
  }

  /** How many servers the toolbox is connected to. */
  get serverCount(): number {
    return this.slots.length;
  }

  /** True once {@link McpToolbox.close} was called. */
  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * The server (its name and URL), the server's own name for the tool, and its MCP annotations,
   * for approval rules and for checking a remembered name still means the same tool.
   */
  describeTool(
    name: string,
  ): { server: string; url?: string; originalName: string; annotations: Record<string, unknown> } | undefined {
    const entry = this.entries.get(name);
    if (entry === undefined) return undefined;
    const url = entry.slot.config.url;
    return {
      server: entry.slot.name,
      ...(url ? { url } : {}),
      originalName: entry.originalName,
      annotations: { ...entry.annotations },
    };
  }

  /**
   * The tools as a session remembers them: unique name, the index of the server in the list
   * given to {@link McpToolbox.connect}, description, input schema and annotations.
   */
  storedTools(): StoredTool[] {
    return this.specs.map((spec) => {
      const entry = this.entries.get(spec.name) as ToolEntry;
      const tool: StoredTool = {
        name: spec.name,
        server: this.slots.indexOf(entry.slot),
        inputSchema: spec.inputSchema,
      };
      if (entry.originalName !== spec.name) tool.originalName = entry.originalName;
      if (spec.description !== undefined) tool.description = spec.description;
      if (entry.annotations) tool.annotations = { ...entry.annotations };
      return tool;
    });
  }

  /** The tools of all servers, with their unique names. Still answers after `close()`. */
  listTools(): readonly ToolSpec[] {
    // The same frozen list until a reconnect rebuilds it, so callers can cache per list.
    return this.specs;
  }

  /**
   * Calls a tool by its unique name. Resolves with the converted result, `isError: true` when
   * the tool reported a failure. Rejects with `TOOL_ERROR` (unknown tool, the server answered the
   * call with a protocol error, or the session was lost during a non-idempotent call),
   * `TIMEOUT` (no answer within `timeoutMs`), `ABORTED` (the signal fired: the server is sent
   * `notifications/cancelled`) or `MCP_UNAVAILABLE` (closed toolbox, or the server is gone).
   */
  async callTool(name: string, args: Record<string, unknown>, options: ToolCallOptions = {}): Promise<ToolResult> {
    this.assertOpen();
    const entry = this.entries.get(name);
    if (!entry) throw new LlmChatError('TOOL_ERROR', `Unknown tool '${name}'.`);
    if (options.signal?.aborted) throw abortedError(options.signal.reason);
    const slot = entry.slot;
    const connection = await this.currentConnection(slot, options.signal);
    try {
      return await this.invoke(connection, entry.originalName, name, args, options);
    } catch (error) {
      if (!(error instanceof SessionLostError)) throw error;
      this.options.logger?.warn?.('MCP server lost the session; reconnecting', {
        server: slot.name,
        error: describeError(error.cause, slot.redactor),
      });
      const fresh = await this.reconnect(slot, connection, options.signal);
      const safe = entry.annotations?.readOnlyHint === true || entry.annotations?.idempotentHint === true;
      if (!safe) {
        throw new LlmChatError(
          'TOOL_ERROR',
          `The MCP server lost the session during '${name}'. It was not retried because it may not be safe to repeat; please try again.`,
          { cause: error.cause },
        );
      }
      if (!fresh.toolsByName.has(entry.originalName)) {
        throw new LlmChatError('TOOL_ERROR', `Tool '${name}' is no longer offered by the MCP server.`);
      }
      try {
        return await this.invoke(fresh, entry.originalName, name, args, options);
      } catch (retryError) {
        if (!(retryError instanceof SessionLostError)) throw retryError;
        throw new LlmChatError('MCP_UNAVAILABLE', 'Lost the connection to the MCP server.', {
          cause: retryError.cause,
        });
      }
    }
  }

  /** Closes every connection (stdio children are terminated). Idempotent; later calls reject. */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled(this.slots.map((slot) => slot.connection.close())).then(() => undefined);
    return this.closing;
  }

  private static async open(
    server: McpServerConfig,
    label: string,
    redactor: SecretRedactor,
    options: McpToolboxOptions,
    elicitations: ElicitationRouter | undefined,
    knownTools?: readonly Tool[],
  ): Promise<McpConnection> {
    const isUrlAllowed = options.isUrlAllowed;
    const auth = options.oauthFor?.(server);
    try {
      return await McpConnection.open(server, {
        label,
        connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        clientInfo: options.clientInfo ?? DEFAULT_CLIENT_INFO,
        toolLimits: {
          maxTools: options.maxToolsPerServer ?? DEFAULT_MAX_TOOLS_PER_SERVER,
          maxToolSchemaChars: options.maxToolSchemaChars ?? DEFAULT_MAX_TOOL_SCHEMA_CHARS,
        },
        maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
        ...(knownTools ? { knownTools } : {}),
        ...(isUrlAllowed ? { isUrlAllowed: (url: URL) => isUrlAllowed(url.href, server) } : {}),
        redactor,
        ...(elicitations ? { onElicit: (params, signal) => elicitations.dispatch(label, params, signal) } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.createTransport ? { createTransport: options.createTransport } : {}),
        ...(auth ? { auth } : {}),
        ...(options.serverStream === false ? { serverStream: false } : {}),
      });
    } catch (error) {
      if (isLlmChatError(error)) throw error;
      options.logger?.warn?.('MCP connect failed', { server: label, error: describeError(error, redactor) });
      throw new LlmChatError('MCP_UNAVAILABLE', CONNECT_FAILED, { cause: redactor.redactError(error) });
    }
  }

  private async invoke(
    connection: McpConnection,
    originalName: string,
    publicName: string,
    args: Record<string, unknown>,
    options: ToolCallOptions,
  ): Promise<ToolResult> {
    const ownTimeoutMs = options.timeoutMs ?? this.options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
    const canAsk = this.elicitations !== undefined && options.onElicitation !== undefined;
    // A call that may wait on the user gets the user's time on top of its own.
    const timeoutMs = canAsk
      ? ownTimeoutMs + (this.options.elicitationTimeoutMs ?? DEFAULT_ELICITATION_TIMEOUT_MS)
      : ownTimeoutMs;
    const server = this.entries.get(publicName)?.slot.name;
    const leave =
      canAsk && server !== undefined && options.onElicitation
        ? (this.elicitations as ElicitationRouter).enter(server, options.onElicitation)
        : () => undefined;
    // A signal per call: the SDK never removes its abort listener, and the turn's signal lives
    // for many calls. Linked through one shared listener, so parallel calls do not pile
    // listeners onto the turn's signal (Node would warn on the host's stderr past ten).
    const controller = new AbortController();
    const outer = options.signal;
    const unlink = outer ? onAbort(outer, (reason) => controller.abort(reason)) : () => undefined;
    try {
      const params = { name: originalName, arguments: args, ...(options.meta ? { _meta: { ...options.meta } } : {}) };
      const result = await connection.client.callTool(params, undefined, {
        signal: controller.signal,
        timeout: timeoutMs,
      });
      return toToolResult(result, {
        maxResultChars: this.options.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS,
        maxImageBytes: this.options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES,
      });
    } catch (thrown) {
      // A server's error may echo what it was sent (a bearer token, an API key header): masked
      // before it becomes a cause that reaches the host's logger and observers.
      const error = this.entries.get(publicName)?.slot.redactor.redactError(thrown) ?? thrown;
      if (outer?.aborted) throw abortedError(error);
      // Our OAuth provider's own answer (authorize again, or refused for good) passes as it is.
      if (isLlmChatError(thrown)) throw thrown;
      // close() ends in-flight calls with "connection closed": not a lost session to recover.
      if (this.isClosed) throw closedError(error);
      switch (classifyMcpError(error)) {
        case 'timeout':
          throw new LlmChatError('TIMEOUT', `Tool '${publicName}' did not answer within ${timeoutMs} ms.`, {
            cause: error,
          });
        case 'aborted':
          throw abortedError(error);
        case 'session_lost':
          throw new SessionLostError('session lost', { cause: error });
        case 'too_large':
          throw new LlmChatError(
            'TOOL_ERROR',
            `Tool '${publicName}' answered with more than ${this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES} bytes; the answer was dropped.`,
            { cause: error },
          );
        case 'incomplete':
          throw new LlmChatError('TOOL_ERROR', `Tool '${publicName}' failed: the MCP server ended its answer early.`, {
            cause: error,
          });
        default:
          throw new LlmChatError('TOOL_ERROR', `Tool '${publicName}' failed.`, { cause: error });
      }
    } finally {
      unlink();
      leave();
    }
  }

  /** The slot's connection, waiting for a reconnect already under way. */
  private async currentConnection(slot: ServerSlot, signal: AbortSignal | undefined): Promise<McpConnection> {
    if (!slot.reconnecting) return slot.connection;
    try {
      return await raceAbort(slot.reconnecting, signal, abortedError);
    } catch (error) {
      if (isLlmChatError(error)) throw error;
      throw new LlmChatError('MCP_UNAVAILABLE', 'Lost the connection to the MCP server.', { cause: error });
    }
  }

  /** Replaces `stale` with a fresh connection; concurrent callers share one attempt. */
  private async reconnect(slot: ServerSlot, stale: McpConnection, signal: AbortSignal | undefined) {
    if (slot.connection !== stale && !slot.reconnecting) return slot.connection;
    if (!slot.reconnecting) {
      const attempt = this.replaceConnection(slot, stale);
      slot.reconnecting = attempt;
      // Nobody may be waiting any more (every caller aborted): never leave it unhandled.
      attempt.then(
        () => {
          slot.reconnecting = undefined;
        },
        () => {
          slot.reconnecting = undefined;
        },
      );
    }
    return this.currentConnection(slot, signal);
  }

  private async replaceConnection(slot: ServerSlot, stale: McpConnection): Promise<McpConnection> {
    // The server forgot the session: no point telling it the session ended.
    await stale.close(false);
    let fresh: McpConnection;
    try {
      fresh = await McpToolbox.open(slot.config, slot.name, slot.redactor, this.options, this.elicitations);
    } catch (error) {
      // The server now wants the user's authorization: say so, not "could not reconnect".
      if (isLlmChatError(error) && error.code === 'MCP_AUTHORIZATION_REQUIRED') throw error;
      this.options.logger?.warn?.('MCP reconnect failed', { server: slot.name });
      throw new LlmChatError('MCP_UNAVAILABLE', 'Lost the connection to the MCP server and could not reconnect.', {
        cause: error,
      });
    }
    if (this.isClosed) {
      await fresh.close();
      throw closedError();
    }
    slot.connection = fresh;
    this.rebuildTools();
    this.options.logger?.info?.('MCP server reconnected', { server: slot.name, tools: fresh.tools.length });
    return fresh;
  }

  private rebuildTools(): void {
    const assignments = uniqueToolNames(
      this.slots.map((slot) => ({ serverName: slot.name, toolNames: slot.connection.tools.map((tool) => tool.name) })),
    );
    const entries = new Map<string, ToolEntry>();
    const specs: ToolSpec[] = [];
    for (const assignment of assignments) {
      const slot = this.slots[assignment.serverIndex] as ServerSlot;
      // A Map lookup, not a scan: a server may list thousands of tools.
      const tool = slot.connection.toolsByName.get(assignment.originalName) as Tool;
      entries.set(assignment.name, {
        slot,
        originalName: assignment.originalName,
        ...(tool.annotations ? { annotations: tool.annotations } : {}),
      });
      const spec: ToolSpec = { name: assignment.name, inputSchema: tool.inputSchema as Record<string, unknown> };
      const description = tool.description ?? tool.title ?? tool.annotations?.title;
      if (description) spec.description = description;
      specs.push(spec);
    }
    this.entries = entries;
    this.specs = Object.freeze(specs.map((spec) => Object.freeze(spec)));
  }

  private assertOpen(): void {
    if (this.isClosed) throw closedError();
  }
}

// A zero, negative or fractional limit would refuse every answer or list; fail at start-up instead.
function assertLimits(options: McpToolboxOptions): void {
  const limits = {
    maxImageBytes: options.maxImageBytes,
    maxMessageBytes: options.maxMessageBytes,
    maxToolsPerServer: options.maxToolsPerServer,
    maxToolSchemaChars: options.maxToolSchemaChars,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    // maxImageBytes may be 0: no images at all.
    const least = name === 'maxImageBytes' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new LlmChatError('CONFIG_INVALID', `${name} must be an integer of at least ${least}.`);
    }
  }
}

function closedError(cause?: unknown): LlmChatError {
  return new LlmChatError('MCP_UNAVAILABLE', 'The MCP connection is closed.', cause === undefined ? {} : { cause });
}

function abortedError(cause: unknown): LlmChatError {
  return new LlmChatError('ABORTED', 'The tool call was cancelled.', { cause });
}
