import { isLlmChatError, LlmChatError } from '../errors.js';
import { unrefTimer } from '../internal/unref-timer.js';
import type { Logger, McpServerConfig, ToolSpec } from '../types.js';
import { raceAbort } from './abort-fanout.js';
import type { StoredTool } from './stored-tool.js';
import { toToolSpecs } from './stored-tool.js';
import type { ToolCallOptions, ToolResult, ToolSource } from './tool-source.js';

/** A live toolbox {@link LazyToolbox} opens on demand (an `McpToolbox` in the handler). @internal */
export interface LiveToolSource {
  callTool(name: string, args: Record<string, unknown>, options?: ToolCallOptions): Promise<ToolResult>;
  describeTool(name: string): { server: string; originalName: string } | undefined;
  close(): Promise<void>;
}

/** Options of {@link LazyToolbox}. @internal */
export interface LazyToolboxOptions {
  /** The tools remembered at connect. */
  tools: readonly StoredTool[];
  /** The session's servers, in the order the stored tools' `server` indexes refer to. */
  servers: readonly McpServerConfig[];
  /** Connects every server (handshake and tool listing); called on the first tool call. */
  open: () => Promise<LiveToolSource>;
  /** A live connection with no call running for this long is closed. */
  idleMs: number;
  logger?: Logger;
}

/**
 * The tools of a session as remembered at connect, with the MCP connection made only when a
 * tool is called. Listing and describing tools (every LLM request, every approval rule) needs no
 * connection, so a connected user who is not calling tools holds no socket and no MCP session.
 *
 * The first tool call opens the live toolbox; concurrent calls (parallel tool calls, the user's
 * other conversations) share that one attempt, and a failed attempt is not kept. Once no call has
 * run for `idleMs`, the connection is closed; the next call opens a new one. A tool the server no
 * longer offers (its tools changed since connect) fails with `TOOL_ERROR`, which the model reads.
 * @internal
 */
export class LazyToolbox implements ToolSource {
  readonly #specs: readonly ToolSpec[];
  readonly #tools: ReadonlyMap<string, StoredTool>;
  readonly #servers: readonly McpServerConfig[];
  readonly #open: () => Promise<LiveToolSource>;
  readonly #idleMs: number;
  readonly #logger: Logger | undefined;
  #live: Promise<LiveToolSource> | undefined;
  #running = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: LazyToolboxOptions) {
    const { specs, byName } = derivedOf(options.tools);
    this.#specs = specs;
    this.#tools = byName;
    this.#servers = options.servers;
    this.#open = options.open;
    this.#idleMs = options.idleMs;
    this.#logger = options.logger;
  }

  /** Whether a live connection is open or being opened. */
  get isConnected(): boolean {
    return this.#live !== undefined;
  }

  /** The remembered tools: the same frozen list for the toolbox's life, so its JSON is cached per list. */
  listTools(): readonly ToolSpec[] {
    return this.#specs;
  }

  /** The server (name and URL) and the MCP annotations of a remembered tool, for approval rules. */
  describeTool(name: string): { server: string; url?: string; annotations: Record<string, unknown> } | undefined {
    const tool = this.#tools.get(name);
    if (tool === undefined) return undefined;
    const url = this.#servers[tool.server]?.url;
    return {
      server: serverName(this.#servers, tool.server),
      ...(url ? { url } : {}),
      annotations: { ...tool.annotations },
    };
  }

  /**
   * Calls a tool over the live connection, opening it first when there is none. Rejects like
   * `McpToolbox.callTool`, and with `TOOL_ERROR` for a tool that was not listed at connect or is
   * no longer offered by its server, `MCP_UNAVAILABLE` when the server cannot be reached.
   */
  async callTool(name: string, args: Record<string, unknown>, options: ToolCallOptions = {}): Promise<ToolResult> {
    if (this.#closed) throw new LlmChatError('MCP_UNAVAILABLE', 'The MCP connection is closed.');
    const tool = this.#tools.get(name);
    if (tool === undefined) throw new LlmChatError('TOOL_ERROR', `Unknown tool '${name}'.`);
    this.#running += 1;
    clearTimeout(this.#idleTimer);
    try {
      const live = await raceAbort(this.#connection(), options.signal, abortedError);
      // The same server, and the same tool of it: a name is cleaned from the server's own, so
      // after a reconnect that listed anew it may name another of its tools.
      const described = live.describeTool(name);
      if (
        described?.server !== serverName(this.#servers, tool.server) ||
        described.originalName !== (tool.originalName ?? tool.name)
      ) {
        throw new LlmChatError(
          'TOOL_ERROR',
          `Tool '${name}' is no longer offered by the MCP server. Please reconnect to refresh the tool list.`,
        );
      }
      return await live.callTool(name, args, options);
    } finally {
      this.#running -= 1;
      if (this.#running === 0) this.#armIdle();
    }
  }

  /** Closes the live connection, if any. Idempotent; later calls reject. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    await this.#dropLive();
  }

  #connection(): Promise<LiveToolSource> {
    if (this.#live === undefined) {
      const attempt = this.#open();
      this.#live = attempt;
      // A failed connect is not kept: the next call tries again.
      attempt.catch(() => {
        if (this.#live === attempt) this.#live = undefined;
      });
    }
    return this.#live;
  }

  #armIdle(): void {
    if (this.#closed || this.#live === undefined) return;
    this.#idleTimer = setTimeout(() => void this.#dropLive(), this.#idleMs);
    unrefTimer(this.#idleTimer);
  }

  async #dropLive(): Promise<void> {
    const live = this.#live;
    this.#live = undefined;
    if (live === undefined) return;
    try {
      await (await live).close();
    } catch (error) {
      // A connect that failed has nothing to close; a close that failed leaves nothing to do.
      if (!isLlmChatError(error))
        this.#logger?.debug?.('closing an idle MCP connection failed', { error: String(error) });
    }
  }
}

interface DerivedTools {
  specs: readonly ToolSpec[];
  byName: ReadonlyMap<string, StoredTool>;
}

// What toolboxes derive from a tool list, once per list: sessions share equal lists (see
// `SessionStore`), so their toolboxes share the spec list, and each provider serializes that
// list's tools once (`ToolJsonCache`) instead of once a user.
const DERIVED = new WeakMap<readonly StoredTool[], DerivedTools>();

function derivedOf(tools: readonly StoredTool[]): DerivedTools {
  let derived = DERIVED.get(tools);
  if (derived === undefined) {
    derived = { specs: toToolSpecs(tools), byName: new Map(tools.map((tool) => [tool.name, tool])) };
    DERIVED.set(tools, derived);
  }
  return derived;
}

// The toolbox's naming of servers: `config.name`, else `server1`, `server2`, …
function serverName(servers: readonly McpServerConfig[], index: number): string {
  return servers[index]?.name ?? `server${index + 1}`;
}

function abortedError(cause: unknown): LlmChatError {
  return new LlmChatError('ABORTED', 'The tool call was cancelled.', { cause });
}
