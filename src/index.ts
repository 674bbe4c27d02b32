/**
 * mcp-llmchat: chat with an LLM that uses MCP tools, inside your own Node server.
 * This root entry holds the framework-free core; adapters and the Redis backend live in
 * their own subpath entries.
 * @packageDocumentation
 */
export * from './errors.js';
export type * from './types.js';
