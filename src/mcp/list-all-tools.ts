import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

// A server that keeps handing out cursors would otherwise keep us listing forever.
const MAX_PAGES = 100;

/**
 * Lists every tool of a connected MCP server, following `nextCursor` page by page. Stops at a
 * repeated cursor or after 100 pages. Tools listed twice (same name) are kept once, first wins.
 * @internal
 */
export async function listAllTools(client: Client, options?: RequestOptions): Promise<Tool[]> {
  const tools: Tool[] = [];
  const seenNames = new Set<string>();
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const result = await client.listTools(cursor === undefined ? undefined : { cursor }, options);
    for (const tool of result.tools) {
      if (seenNames.has(tool.name)) continue;
      seenNames.add(tool.name);
      tools.push(tool);
    }
    cursor = result.nextCursor;
    if (cursor === undefined || cursor === '' || seenCursors.has(cursor)) break;
    seenCursors.add(cursor);
  }
  return tools;
}
