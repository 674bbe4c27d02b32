import type { ToolImage, ToolSpec } from '../types.js';
import type { ElicitationHandler } from './elicitation-router.js';

/** The outcome of one tool call, ready for the model and for the `tool_end` event. */
export interface ToolResult {
  /** What the model reads: text parts joined, or JSON text of structured content; cut when huge. */
  text: string;
  /** What the `tool_end` event shows: the structured content when there is some, else `text`. */
  output: unknown;
  /** The tool said it failed (`isError`), or the call failed. */
  isError: boolean;
  /** Images the tool returned. */
  images?: ToolImage[];
}

/** Per-call options of {@link ToolSource.callTool}. */
export interface ToolCallOptions {
  /** The turn's signal: aborting sends `notifications/cancelled` to the server. */
  signal?: AbortSignal;
  /** Overrides the source's tool timeout for this call. */
  timeoutMs?: number;
  /** Sent as the request's `params._meta` (for example W3C `traceparent`, as MCP suggests). */
  meta?: Readonly<Record<string, unknown>>;
  /** Answers the server's requests for user input during this call (when the source allows them). */
  onElicitation?: ElicitationHandler;
}

/**
 * Where a chat session's tools come from: one or more MCP servers behind one flat list of
 * uniquely named tools. ChatService depends only on this interface.
 */
export interface ToolSource {
  /** The tools, listed once at connect and cached. */
  listTools(): readonly ToolSpec[];
  /**
   * Calls a tool. A tool that reports `isError` resolves with `isError: true`; a call that
   * cannot complete (unknown tool, timeout, server gone) rejects with an `LlmChatError`
   * (`TOOL_ERROR`, `TIMEOUT`, `MCP_UNAVAILABLE`, `ABORTED`).
   */
  callTool(name: string, args: Record<string, unknown>, options?: ToolCallOptions): Promise<ToolResult>;
  /**
   * Optional. Where a tool comes from and what its server says of it (MCP annotations), for
   * tool approval rules.
   */
  describeTool?(name: string): { server: string; url?: string; annotations: Record<string, unknown> } | undefined;
  /** Closes every connection. Idempotent. */
  close(): Promise<void>;
}
