import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { classifyMcpError } from '../../src/mcp/classify-mcp-error.js';
import { uniqueToolNames } from '../../src/mcp/unique-tool-names.js';

describe('uniqueToolNames', () => {
  it('keeps names of a single server untouched', () => {
    expect(uniqueToolNames([{ serverName: 'one', toolNames: ['a', 'b'] }]).map((x) => x.name)).toEqual(['a', 'b']);
  });

  it('prefixes only colliding names, with the server name', () => {
    const names = uniqueToolNames([
      { serverName: 'math', toolNames: ['add', 'mul'] },
      { serverName: 'calc', toolNames: ['add', 'div'] },
    ]);
    expect(names).toEqual([
      { name: 'math_add', serverIndex: 0, originalName: 'add' },
      { name: 'mul', serverIndex: 0, originalName: 'mul' },
      { name: 'calc_add', serverIndex: 1, originalName: 'add' },
      { name: 'div', serverIndex: 1, originalName: 'div' },
    ]);
  });

  it('stays unique when server names collide too, and cleans the prefix', () => {
    const names = uniqueToolNames([
      { serverName: 'my server', toolNames: ['x'] },
      { serverName: 'my server', toolNames: ['x'] },
    ]).map((x) => x.name);
    expect(names).toEqual(['my_server_x', 'my_server_x_2']);
  });
});

describe('classifyMcpError', () => {
  it('sorts SDK errors', () => {
    expect(classifyMcpError(new McpError(ErrorCode.RequestTimeout, 'Request timed out'))).toBe('timeout');
    expect(classifyMcpError(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'))).toBe('session_lost');
    expect(classifyMcpError(new StreamableHTTPError(404, 'Session not found'))).toBe('session_lost');
    expect(classifyMcpError(new Error('Not connected'))).toBe('session_lost');
    expect(classifyMcpError(new TypeError('fetch failed'))).toBe('session_lost');
    expect(classifyMcpError(new StreamableHTTPError(500, 'Internal'))).toBe('other');
    expect(classifyMcpError(new McpError(ErrorCode.InvalidParams, 'bad'))).toBe('other');
  });
});
