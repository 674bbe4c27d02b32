import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { MAX_STORED_DEPTH, nestsDeeperThan } from '../internal/json-depth.js';

// A server that keeps handing out cursors would otherwise keep us listing forever.
const MAX_PAGES = 100;

// A schema nested deeper cannot be measured, stored or sent (serializing it overflows the
// stack): it counts as oversized. Half the stored depth leaves room for the record around it.
const MAX_TOOL_SCHEMA_DEPTH = MAX_STORED_DEPTH / 2;

/** How many tools of one server are kept, and how big one may be. */
export interface ToolListLimits {
  /** Tools kept per server; the rest are dropped. */
  maxTools: number;
  /** Characters of one tool's input schema plus its description; bigger tools are dropped. */
  maxToolSchemaChars: number;
}

/** What {@link listAllTools} found. */
export interface ListedTools {
  tools: Tool[];
  /** Tools dropped because the server offered more than `maxTools`. */
  droppedOverCount: number;
  /** Tools dropped because their schema was bigger than `maxToolSchemaChars`, or nested too deeply. */
  droppedOversized: number;
}

/**
 * Lists the tools of a connected MCP server, following `nextCursor` page by page. Stops at a
 * repeated cursor, after 100 pages, or once `maxTools` are kept (no further page is asked for).
 * Tools listed twice (same name) are kept once, first wins; tools without a name (or an empty
 * one), or whose schema and description together are bigger than `maxToolSchemaChars` (or whose
 * schema nests too deeply to measure), are dropped and counted.
 * Linear in the size of the listing.
 * @internal
 */
export async function listAllTools(
  client: Client,
  limits: ToolListLimits,
  options?: RequestOptions,
): Promise<ListedTools> {
  const listed: ListedTools = { tools: [], droppedOverCount: 0, droppedOversized: 0 };
  const seenNames = new Set<string>();
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const result = await client.listTools(cursor === undefined ? undefined : { cursor }, options);
    for (const tool of result.tools) {
      if (typeof tool.name !== 'string' || tool.name === '' || seenNames.has(tool.name)) continue;
      seenNames.add(tool.name);
      if (listed.tools.length >= limits.maxTools) {
        listed.droppedOverCount += 1;
      } else if (
        nestsDeeperThan(tool.inputSchema, MAX_TOOL_SCHEMA_DEPTH) ||
        schemaChars(tool) > limits.maxToolSchemaChars
      ) {
        listed.droppedOversized += 1;
      } else {
        listed.tools.push(tool);
      }
    }
    cursor = result.nextCursor;
    if (listed.tools.length >= limits.maxTools) break;
    if (cursor === undefined || cursor === '' || seenCursors.has(cursor)) break;
    seenCursors.add(cursor);
  }
  return listed;
}

/** Roughly what the tool costs in every LLM request: its schema, description and name. */
function schemaChars(tool: Tool): number {
  const schema = JSON.stringify(tool.inputSchema ?? {}) ?? '';
  return schema.length + (tool.description?.length ?? 0) + (tool.title?.length ?? 0) + tool.name.length;
}
