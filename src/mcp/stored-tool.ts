import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ToolSpec } from '../types.js';

/**
 * One tool as remembered with a session at connect: what an LLM request (name, description,
 * input schema) and the approval rules (server, annotations) need, so a turn can offer the tools
 * without an MCP connection. Part of a `StoredSession` (see `SessionStore.createSession`).
 */
export interface StoredTool {
  /** The unique name the model calls it by (see `uniqueToolNames`). */
  name: string;
  /** Index of its server in the session configuration's `servers`. */
  server: number;
  /**
   * The server's own name for it, when `name` had to differ: cleaned to what providers accept,
   * cut or suffixed, or prefixed because two servers offer the same name.
   */
  originalName?: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  inputSchema: Record<string, unknown>;
  /** The server's MCP annotations (`readOnlyHint`, `destructiveHint`, …). */
  annotations?: Record<string, unknown>;
}

/**
 * The most characters of tool list JSON kept with one session. Every request of every turn
 * carries the list, so a bigger one is no use to a model anyway; it bounds what a server can
 * make each connected user weigh in the storage.
 * @internal
 */
export const MAX_STORED_TOOLS_CHARS = 1_048_576;

/** What {@link fitStoredTools} kept. @internal */
export interface FittedTools {
  tools: StoredTool[];
  /** Tools left out because the list outgrew `maxChars`. */
  dropped: number;
}

/**
 * The first tools of `tools` whose JSON fits in `maxChars` together; the rest are dropped and
 * counted, as the toolbox drops tools over its own limits.
 * @internal
 */
export function fitStoredTools(tools: readonly StoredTool[], maxChars = MAX_STORED_TOOLS_CHARS): FittedTools {
  const kept: StoredTool[] = [];
  let chars = 2;
  for (const tool of tools) {
    // +1 for the comma between entries.
    chars += JSON.stringify(tool).length + 1;
    if (chars > maxChars) break;
    kept.push(tool);
  }
  return { tools: kept, dropped: tools.length - kept.length };
}

/** What a request to the model shows of the stored tools: one frozen list, built once. @internal */
export function toToolSpecs(tools: readonly StoredTool[]): readonly ToolSpec[] {
  return Object.freeze(
    tools.map((tool) => {
      const spec: ToolSpec = { name: tool.name, inputSchema: tool.inputSchema };
      if (tool.description !== undefined) spec.description = tool.description;
      return Object.freeze(spec);
    }),
  );
}

/**
 * Why a stored tool list cannot be used with the configuration it was stored with (a server index
 * out of range, a name listed twice), or `undefined` when it can. Storage is untrusted: a record
 * that passes the schema can still be inconsistent.
 * @internal
 */
export function storedToolsProblem(tools: readonly StoredTool[], serverCount: number): string | undefined {
  const names = new Set<string>();
  for (const tool of tools) {
    if (tool.server >= serverCount) return 'a tool names a server the configuration lacks';
    if (names.has(tool.name)) return 'a tool name is listed twice';
    names.add(tool.name);
  }
  return undefined;
}

/**
 * The stored tools as each server (by index) listed them, for `McpToolbox`'s `knownTools`: a
 * connection made for a tool call then skips listing them again.
 * @internal
 */
export function toolsByServer(tools: readonly StoredTool[], serverCount: number): Tool[][] {
  const byServer: Tool[][] = Array.from({ length: serverCount }, () => []);
  for (const tool of tools) {
    const listed: Tool = { name: tool.originalName ?? tool.name, inputSchema: tool.inputSchema as Tool['inputSchema'] };
    if (tool.description !== undefined) listed.description = tool.description;
    if (tool.annotations !== undefined) listed.annotations = tool.annotations as Tool['annotations'];
    byServer[tool.server]?.push(listed);
  }
  return byServer;
}
