/**
 * Public types shared across the library: the chat transcript, MCP server and model
 * configuration, the chat events of the wire contract, and the logger.
 */

/** A tool call the model asked for, with its arguments already parsed from JSON. */
export interface ToolCall {
  /** The provider's call id (OpenAI `call_…`, Anthropic `toolu_…`). */
  id: string;
  /** The tool name as the model saw it. */
  name: string;
  /** The parsed arguments object. */
  arguments: Record<string, unknown>;
  /** An opaque signature the provider attached to the call and wants back with it (Gemini's thought signature). */
  signature?: string;
}

/** An image returned by a tool, passed to vision models as an image part. */
export interface ToolImage {
  /** Base64 data, without a `data:` prefix. */
  data: string;
  /** For example `image/png`. */
  mimeType: string;
}

/** A message the user sent. */
export interface UserMessage {
  role: 'user';
  content: string;
}

/** An answer of the model, possibly with the tool calls it made. */
export interface AssistantMessage {
  role: 'assistant';
  content: string;
  toolCalls?: ToolCall[];
  /** Set when the turn was stopped (abort or error) before the model finished. */
  interrupted?: boolean;
  /**
   * The model's signed reasoning blocks (Anthropic extended thinking), kept verbatim because the
   * API wants them back, in order, with the tool results of the same turn. Never shown as text.
   */
  thinking?: ThinkingBlock[];
  /**
   * The reasoning text streamed beside a round that called tools (`reasoning_content`, Cohere's
   * tool plan), when no signed blocks carried it: DeepSeek's thinking mode refuses a later
   * request whose tool-call messages lost it. Never shown as text.
   */
  reasoning?: string;
}

/** A reasoning block as the provider signed it; opaque to the library. */
export type ThinkingBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string };

/** The result of one tool call, fed back to the model. */
export interface ToolMessage {
  role: 'tool';
  /** The id of the {@link ToolCall} this answers. */
  toolCallId: string;
  /** The tool name, kept so providers that need it (and humans) can read the transcript. */
  name: string;
  /** The result as text (JSON text for structured results). */
  content: string;
  /** The tool reported an error, or failed to run. */
  isError?: boolean;
  /** Images the tool returned; only sent to models that support vision. */
  images?: ToolImage[];
}

/** One entry of the structured chat transcript. */
export type TranscriptMessage = UserMessage | AssistantMessage | ToolMessage;

/** A tool as the model sees it. */
export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  inputSchema: Record<string, unknown>;
}

/** The MCP transports a session may use. */
export type McpTransportKind = 'streamable_http' | 'sse' | 'stdio';

/** How to reach one MCP server. */
export interface McpServerConfig {
  /** A short name, used to prefix tool names when two servers offer the same one. */
  name?: string;
  /** Server URL, for `streamable_http` and `sse`. */
  url?: string;
  /** @default 'streamable_http' */
  transport?: McpTransportKind;
  /** Sent as `Authorization: Bearer <token>`. A secret: masked on read, sealed at rest. */
  authToken?: string;
  /** Extra request headers. Values are treated as secrets. */
  headers?: Record<string, string>;
  /** For `stdio` only: the command to spawn. Only ever taken from host configuration. */
  command?: string;
  /** For `stdio` only: its arguments. */
  args?: string[];
  /** For `stdio` only: extra environment variables of the child process. */
  env?: Record<string, string>;
}

/** The LLM providers the library speaks to. */
export type ProviderKind =
  | 'openai'
  | 'azure_openai'
  | 'anthropic'
  | 'ollama'
  | 'openai_compatible'
  | 'watsonx'
  | 'cohere'
  | 'mistral'
  | 'groq'
  | 'together'
  | 'bedrock'
  | 'google'
  | 'vertex';

/** AWS credentials for `bedrock` models. Secrets: never shown by any route, error or log. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** For temporary credentials (STS, an assumed role). */
  sessionToken?: string;
}

/** One model users may pick: the gateway's "LLM Settings" entry. */
export interface ModelConfig {
  /** What clients send as `llm.model`. Unique in a registry. */
  id: string;
  /** The provider's model name. @default id */
  model?: string;
  provider: ProviderKind;
  /**
   * API root. OpenAI-style providers: including `/v1` (`https://api.openai.com/v1`).
   * Anthropic: the origin (`https://api.anthropic.com`).
   */
  baseUrl?: string;
  /** A secret: never shown by any route or error. */
  apiKey?: string;
  /** Azure only: the `api-version` query parameter. @default '2024-10-21' */
  apiVersion?: string;
  /** Azure only: the deployment name. @default model */
  deployment?: string;
  /** Display name. @default id */
  name?: string;
  /** Display name of the provider. @default provider */
  providerName?: string;
  /** Default sampling temperature when the connect request sets none. */
  temperature?: number;
  /** Default answer size limit when the connect request sets none. */
  maxTokens?: number;
  /** Context window in tokens, used to trim history. @default 128000 */
  contextWindow?: number;
  /** @default true */
  supportsStreaming?: boolean;
  /** @default true */
  supportsFunctionCalling?: boolean;
  /** @default false */
  supportsVision?: boolean;
  /** A disabled model is listed nowhere and refused at connect. @default true */
  enabled?: boolean;
  /** Extra request headers sent to the provider. Treated as secrets. */
  headers?: Record<string, string>;
  /**
   * OpenAI-style reasoning models: sent as `reasoning_effort`. Setting it also marks the model
   * as a reasoning model (see `reasoningModel`).
   */
  reasoningEffort?: 'minimal' | 'low' | 'medium' | 'high';
  /**
   * OpenAI-style providers: whether the model is a reasoning model, which takes
   * `max_completion_tokens` instead of `max_tokens` and refuses `temperature`.
   * @default detected from the model name: `o1`, `o3`, `o4`, `gpt-5` and their variants
   */
  reasoningModel?: boolean;
  /** Anthropic: turns on extended thinking with this token budget (at least 1024, below `maxTokens`). */
  thinkingBudgetTokens?: number;
  /**
   * Anthropic: marks the system prompt, tool list and conversation for prompt caching. @default true
   * Bedrock: the same with `cachePoint` blocks, for models that support them (Claude, Nova). @default false
   */
  promptCaching?: boolean;
  /** watsonx: the project the model runs in (this or `spaceId`). */
  projectId?: string;
  /** watsonx: the deployment space the model runs in (this or `projectId`). */
  spaceId?: string;
  /** watsonx: the IBM Cloud IAM endpoint that exchanges `apiKey` for a token. @default 'https://iam.cloud.ibm.com' */
  iamUrl?: string;
  /** Bedrock only: the AWS region (`us-east-1`), used for the endpoint and the signature. */
  region?: string;
  /**
   * Bedrock only: the AWS credentials, or a function that returns them (called before each
   * request, so it can refresh them). The library never reads them from the environment.
   */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /** Vertex only: the Google Cloud project id. */
  project?: string;
  /** Vertex only: the location (`us-central1`, `global`). @default 'global' */
  location?: string;
  /**
   * Vertex only: returns an OAuth access token for the `cloud-platform` scope (for example from
   * `google-auth-library` or workload identity). Called before each request; cache in it.
   */
  getAccessToken?: () => Promise<string>;
}

/** What one user's session is configured to use; stored by {@link SessionStore}. */
export interface SessionConfig {
  /** The MCP servers of the session (the wire API connects one; the library supports several). */
  servers: McpServerConfig[];
  /** The chosen model's registry id. */
  model: string;
  temperature?: number;
  maxTokens?: number;
  /** The connect request's `streaming` flag, reported by `/config`. */
  streaming: boolean;
}

/** Token counts of one LLM call, or summed over a turn. */
export interface TokenUsage {
  /** Every input token, cached or not. */
  inputTokens: number;
  outputTokens: number;
  /** Of `inputTokens`, those read from the provider's prompt cache. */
  cachedInputTokens?: number;
  /** Of `inputTokens`, those written to the provider's prompt cache (Anthropic). */
  cacheWriteInputTokens?: number;
}

/** `token`: a chunk of answer text. */
export interface TokenEvent {
  type: 'token';
  content: string;
}

/** `tool_start`: the model called a tool. */
export interface ToolStartEvent {
  type: 'tool_start';
  id: string;
  tool: string;
  input: Record<string, unknown>;
  /** ISO-8601 UTC. */
  start: string;
}

/** `tool_end`: a tool call finished. */
export interface ToolEndEvent {
  type: 'tool_end';
  id: string;
  tool: string;
  output: unknown;
  /** ISO-8601 UTC. */
  end: string;
}

/** `tool_error`: a tool call failed or the tool reported an error. */
export interface ToolErrorEvent {
  type: 'tool_error';
  id: string;
  tool: string;
  error: string;
  /** ISO-8601 UTC. */
  time: string;
}

/** `final`: the turn's complete answer. Exactly one per successful turn. */
export interface FinalEvent {
  type: 'final';
  content: string;
  tool_used: boolean;
  tools: string[];
  elapsed_ms: number;
  usage?: UsageSummary;
}

/**
 * Token counts of a turn as `final` reports them. The cache counts appear when the provider
 * reported any; they are parts of `input_tokens`, not additions to it.
 */
export interface UsageSummary {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/**
 * `reasoning`: a chunk of the model's visible reasoning (Anthropic thinking, `reasoning_content`
 * of DeepSeek/vLLM/Ollama, Cohere's tool plan). Sent only when the host opts in; never part of
 * the answer.
 */
export interface ReasoningEvent {
  type: 'reasoning';
  content: string;
}

/** `error`: the turn failed. Exactly one per failed turn, instead of `final`. */
export interface ChatErrorEvent {
  type: 'error';
  error: string;
  recoverable: boolean;
  code: string;
  /** `MCP_AUTHORIZATION_REQUIRED` only: the URL the user opens to authorize the MCP server. */
  authorization_url?: string;
  /** How long to wait before a retry, when the failure says so (a provider's `Retry-After`). */
  retry_after_ms?: number;
}

/** `tool_approval`: a tool call waits for the user's decision (`POST /approve`). */
export interface ToolApprovalEvent {
  type: 'tool_approval';
  /** The call id, to send back as `call_id`. */
  id: string;
  tool: string;
  input: Record<string, unknown>;
  /** The tool's MCP annotations, as its server declared them. */
  annotations: Record<string, unknown>;
  /** When an unanswered call is denied, ISO-8601 UTC. */
  expires_at: string;
}

/** `elicitation`: an MCP server asks the user for input mid-call (`POST /elicitation`). */
export interface ElicitationEvent {
  type: 'elicitation';
  /** The id to send back. */
  id: string;
  /** The server that asks. */
  server: string;
  mode: 'form' | 'url';
  message: string;
  /** Form mode: the fields to fill in (a flat object of primitives). */
  requested_schema?: Record<string, unknown>;
  /** URL mode: the page the user should open. */
  url?: string;
  /** When an unanswered request is cancelled, ISO-8601 UTC. */
  expires_at: string;
}

/** Every event a chat turn yields, in the shapes of the wire contract. */
export type ChatEvent =
  | TokenEvent
  | ReasoningEvent
  | ToolStartEvent
  | ToolEndEvent
  | ToolErrorEvent
  | ToolApprovalEvent
  | ElicitationEvent
  | FinalEvent
  | ChatErrorEvent;

/** The tool events, as listed in `tool_invocations`. */
export type ToolEvent = ToolStartEvent | ToolEndEvent | ToolErrorEvent;

/**
 * Receives diagnostics. The library never writes to the console; pass `console` or a pino
 * logger to see them. Metadata never holds secrets.
 */
export interface Logger {
  debug?(message: string, meta?: Record<string, unknown>): void;
  info?(message: string, meta?: Record<string, unknown>): void;
  warn?(message: string, meta?: Record<string, unknown>): void;
  error?(message: string, meta?: Record<string, unknown>): void;
}

/** The `fetch` signature providers and MCP transports accept, so hosts can inject their own. */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;
