/** MCP client side: the {@link McpToolbox} tool source and its helpers. */
export { McpToolbox, type McpToolboxOptions } from './mcp-toolbox.js';
export {
  DEFAULT_MAX_IMAGE_BYTES,
  DEFAULT_MAX_RESULT_CHARS,
  type ToToolResultOptions,
  toToolResult,
} from './tool-result.js';
export type { ToolCallOptions, ToolResult, ToolSource } from './tool-source.js';
export { truncateMiddle } from './truncate-middle.js';
export { type ServerToolNames, type ToolNameAssignment, uniqueToolNames } from './unique-tool-names.js';
