import type { ToolApprovalRule } from '../approval/approval-policy.js';
import type { ElicitationOptions, ToolApprovalOptions } from '../approval/ask-settings.js';
import type { LimitsOptions } from '../limits/limits-options.js';
import type { LlmProviderOptions } from '../llm/llm-provider.js';
import type { ModelRegistry } from '../llm/model-registry.js';
import type { OAuthOptions } from '../oauth/oauth-options.js';
import type { ChatStorage } from '../storage.js';
import type { TurnObserver } from '../telemetry/turn-observer.js';
import type { FetchLike, Logger, McpServerConfig, ModelConfig } from '../types.js';
import type { UsageLedgerOptions } from '../usage/usage-ledger.js';
import type { ChatUser } from './chat-user.js';

/** What the `serverAuth` hook receives. */
export interface ServerAuthContext {
  /** The request that needs the connection (a `/connect`, or a `/chat` on a process that had none). */
  request: Request;
  user: ChatUser;
  /** The MCP server about to be connected, without any header the hook may add. */
  server: Readonly<McpServerConfig>;
}

/** MCP settings of {@link ChatHandlerOptions}. */
export interface ChatHandlerMcpOptions {
  /** Used when a connect request names no server URL. */
  defaultServer?: McpServerConfig;
  /**
   * Server URLs a client may connect to: allowed when, after normalization, the URL equals or
   * starts with an entry (at a path segment boundary). @default only `defaultServer`
   */
  allowedUrls?: string[];
  /** Time allowed for each tool call. @default 60000 */
  toolTimeoutMs?: number;
  /** Time allowed to connect and list tools. @default 10000 */
  connectTimeoutMs?: number;
  /** Longer tool results are cut (head and tail kept) before they reach the model. @default 20000 */
  maxResultChars?: number;
  /**
   * Decoded bytes of images one tool result may keep (they go to the model and into the
   * history); images over it are replaced by a short note. @default 2097152 (2 MiB)
   */
  maxImageBytes?: number;
  /**
   * The longest one MCP message may be (a JSON response, or one event of an event stream).
   * A longer answer is cut off, its socket closed, and the call fails with a tool error.
   * @default 8388608 (8 MiB)
   */
  maxMessageBytes?: number;
  /** Tools kept per MCP server; more are left out, with a `warn` log line. @default 1000 */
  maxToolsPerServer?: number;
  /** Characters of one tool's input schema and description; bigger tools are left out, with a `warn`. @default 65536 */
  maxToolSchemaChars?: number;
}

/** Options of {@link createChatHandler}. */
export interface ChatHandlerOptions {
  /**
   * Who is calling. `null`/`undefined` or a throw answers 401. The returned `id` keys the
   * session, so it must be stable per user (an email or user id).
   */
  authenticate: (request: Request) => ChatUser | null | undefined | Promise<ChatUser | null | undefined>;
  /** The models users may pick, as a list or a prebuilt registry. */
  models: readonly ModelConfig[] | ModelRegistry;
  /** MCP servers and limits. */
  mcp?: ChatHandlerMcpOptions;
  /** Where sessions, history and turn locks live. @default memoryStorage() */
  storage?: ChatStorage;
  /**
   * Path prefix of the routes as `request.url` shows them. Adapters strip their mount path, so
   * leave it unset with them; set it when a host passes full URLs to `handler.fetch`
   * (for example `'/llmchat'` behind Hono's `app.all('/llmchat/*', …)`). @default '/'
   */
  basePath?: string;
  /** An optional system prompt sent with every turn. */
  systemPrompt?: string;
  /** Rounds of tool calls one turn may make before a last answer without tools. @default 10 */
  maxToolRounds?: number;
  /**
   * Stream the model's reasoning (thinking, `reasoning_content`, tool plans) as `reasoning`
   * events `{ content }`. Off by default: gateway clients do not know the event, and reasoning
   * is never part of the answer either way. @default false
   */
  reasoningEvents?: boolean;
  /** Idle lifetime of a session, refreshed by each turn. @default 300000 */
  sessionTtlMs?: number;
  /** Idle lifetime of the chat history. @default 3600000 */
  historyTtlMs?: number;
  /** Turns of history kept. @default 50 */
  maxHistoryTurns?: number;
  /** Lease of a user's turn lock; renewed while the turn runs, so a dead process blocks its user this long at most. @default 30000 */
  lockTtlMs?: number;
  /**
   * What a second turn of a user gets while one runs: `'reject'` answers 409
   * `TURN_IN_PROGRESS`; `'queue'` waits up to `turnQueueTimeoutMs` for the first to end.
   * @default 'reject'
   */
  turnPolicy?: 'reject' | 'queue';
  /** How long a queued turn waits for the lock. @default 30000 */
  turnQueueTimeoutMs?: number;
  /**
   * How many of one user's conversations may run a turn at the same time, across every process
   * sharing the storage. A turn past the cap is refused with 409 `TURN_IN_PROGRESS` (whatever
   * `turnPolicy` says: it does not wait). @default Infinity (no cap)
   */
  maxConcurrentConversations?: number;
  /**
   * How many conversations one user may keep (listed and not expired), the default one not
   * counted. A turn that would start one more is refused with 409 `CONVERSATION_LIMIT` before
   * anything is stored; the user's existing conversations keep working. @default 1000
   */
  maxConversations?: number;
  /** The longest a turn may run before it is stopped with `TIMEOUT`. @default 600000 */
  turnTimeoutMs?: number;
  /**
   * How long a turn's events stay readable after it ended, for `GET /chat/events` and
   * `Idempotency-Key` retries. @default 600000 (10 minutes)
   */
  turnRetentionMs?: number;
  /** Events kept per turn (token chunks count one each); a resume before them is `RESUME_LOST`. @default 10000 */
  maxTurnEvents?: number;
  /**
   * The 0.1 rule: a client that goes away from the `/chat` response stops its turn (the LLM
   * request and running MCP calls are cancelled). By default the turn runs to its end, is saved,
   * and can be re-attached with `GET /chat/events`. @default false
   */
  stopOnDisconnect?: boolean;
  /** Request bodies above this size answer 413. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** Interval of `: ping` comments on idle streams. @default 15000 */
  keepAliveMs?: number;
  /** Seals MCP tokens and headers in storage with AES-256-GCM. See `SessionStore`. */
  sealKey?: string | Uint8Array;
  /**
   * Per-user OAuth for MCP servers that require authorization (needs `sealKey`). A connection
   * without a usable token answers 403 `MCP_AUTHORIZATION_REQUIRED` with `authorization_url`.
   * @default undefined (off)
   */
  oauth?: OAuthOptions;
  /**
   * Adds headers (for example a short-lived, audience-bound token) to an MCP connection when it
   * is built. Called on `/connect` and whenever a process builds a connection from the stored
   * configuration. Nothing it returns is stored. The gateway forwarded the caller's login token
   * implicitly; here that only happens when the host writes it here.
   */
  serverAuth?: (
    context: ServerAuthContext,
  ) => Record<string, string> | undefined | Promise<Record<string, string> | undefined>;
  /**
   * Live MCP connections kept per process. `/connect` keeps none (it stores the tool list);
   * a user's first tool call in a process opens one, shared by the user's turns.
   */
  connections?: {
    /** A connection with no tool call for this long is closed. @default 300000 */
    idleMs?: number;
    /** The most kept; least recently used idle ones go first. @default 1000 */
    max?: number;
  };
  /** Timeouts and retries of LLM calls, and an injectable `fetch`. */
  llm?: LlmProviderOptions;
  /**
   * The fetch used for MCP HTTP transports (and OAuth's own requests), with redirects refused.
   * Without it, MCP requests go over the library's undici transport (its own connection pool, not
   * the process's global dispatcher), which refuses redirects too, and OAuth's over the global
   * `fetch`, except those allowed only because their host is public (not under `mcp.allowedUrls`,
   * not on the MCP server's origin): they go over connections of the library's own, which refuse
   * a name that resolves to a loopback, private or link-local address (unless the MCP server's
   * own host is of that same kind). Your fetch gets no such check: OAuth endpoints
   * are named by the MCP server, so refuse such addresses in it (say, in its dispatcher's
   * `connect.lookup`) if those servers can name hosts inside your network. Pass one when MCP
   * traffic must take a proxy or a dispatcher with its own TLS settings:
   * `fetch: (input, init) => fetch(input, init)` uses the global dispatcher. It runs for whichever
   * request started an exchange (users connecting at once to identically configured servers share
   * one tool listing): a user's own credentials belong in `serverAuth`, never in this function.
   */
  fetch?: FetchLike;
  /**
   * When a tool call needs the user's approval (CONTRACT §7): `'never'` (the gateway's
   * behaviour), `'always'`, `'annotations'` (from the tools' MCP annotations, which can add a
   * need but never waive one unless the server is trusted), or a function of the call answering
   * `'allow'`, `'deny'` or `'ask'`. The long form sets trusted servers and the wait.
   * @default 'never'
   */
  toolApproval?: ToolApprovalRule | ToolApprovalOptions;
  /**
   * Lets MCP servers ask the user for input mid-call (`elicitation/create`, form and URL modes),
   * relayed as `elicitation` events and answered with `POST /elicitation`. The MCP client declares
   * the capability only when this is on. @default false
   */
  elicitation?: boolean | ElicitationOptions;
  /** Receives diagnostics; never secrets. @default none (silent) */
  logger?: Logger;
  /**
   * Watches every turn: `openTelemetry()` from `mcp-llmchat/otel` for traces and metrics, or any
   * {@link TurnObserver}. @default none (nothing is called)
   */
  telemetry?: TurnObserver;
  /**
   * Usage accounting per user and conversation in the storage (`true`, or options with prices
   * per model), read with `handler.usage` or `GET /usage/:user_id`. Token budgets turn it on, and
   * so does `limits.forRequest` (it may pick budgets) when the storage can count.
   * @default false
   */
  usage?: boolean | UsageLedgerOptions;
  /** Limits per user on chat requests, open streams and tokens, enforced across processes. @default none */
  limits?: LimitsOptions;
}

export type { ChatUser } from './chat-user.js';
