import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { classifyMcpError } from '../../src/mcp/classify-mcp-error.js';
import { uniqueToolNames } from '../../src/mcp/unique-tool-names.js';

const SAFE = /^[A-Za-z0-9_-]{1,64}$/;

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
    expect(names[0]).toBe('my_server_x');
    expect(names[1]).toMatch(/^my_server_x_[0-9a-f]{8}$/);
  });

  it('makes dotted, spaced, unicode, empty and over-long names valid and unique', () => {
    const toolNames = ['files.read', 'files_read', 'get weather', 'météo', '工具', '道具', '', 'x'.repeat(200)];
    const assigned = uniqueToolNames([{ serverName: 'notes', toolNames }]);
    for (const { name } of assigned) expect(name).toMatch(SAFE);
    expect(new Set(assigned.map((x) => x.name)).size).toBe(toolNames.length);
    expect(assigned.map((x) => x.originalName)).toEqual(toolNames);
    const byOriginal = new Map(assigned.map((x) => [x.originalName, x.name]));
    // Already safe: kept. Cleaned without a clash: no suffix. Cleaned into a clash: the changed one gives way.
    expect(byOriginal.get('files_read')).toBe('files_read');
    expect(byOriginal.get('get weather')).toBe('get_weather');
    expect(byOriginal.get('files.read')).toMatch(/^files_read_[0-9a-f]{8}$/);
    expect(byOriginal.get('x'.repeat(200))).toMatch(/^x{55}_[0-9a-f]{8}$/);
  });

  it('keeps every already-safe name as it is, up to 64 characters', () => {
    const toolNames = ['a'.repeat(64), 'Get-Weather_2', '_'];
    expect(uniqueToolNames([{ serverName: 's', toolNames }]).map((x) => x.name)).toEqual(toolNames);
  });

  it('cuts a prefixed name past 64 characters with a stable hash suffix', () => {
    const long = 'search_repositories_and_issues_in_organization';
    const servers = [
      { serverName: 'github-enterprise-server', toolNames: [long] },
      { serverName: 'gitlab', toolNames: [long] },
    ];
    const names = uniqueToolNames(servers).map((x) => x.name);
    expect(names[0]).toHaveLength(64);
    expect(names[0]?.slice(0, 55)).toBe(`github-enterprise-server_${long}`.slice(0, 55));
    expect(names[0]).toMatch(/_[0-9a-f]{8}$/);
    expect(names[1]).toBe(`gitlab_${long}`);
    expect(uniqueToolNames(servers).map((x) => x.name)).toEqual(names);
  });

  it("does not let one server's own name take another server's prefixed name", () => {
    const evil = { serverName: 'evil', toolNames: ['delete', 'bank_delete'] };
    const bank = { serverName: 'bank', toolNames: ['delete'] };
    for (const servers of [
      [evil, bank],
      [bank, evil],
    ]) {
      const assigned = uniqueToolNames(servers);
      const bankIndex = servers.indexOf(bank);
      expect(assigned.find((x) => x.name === 'bank_delete')).toEqual({
        name: 'bank_delete',
        serverIndex: bankIndex,
        originalName: 'delete',
      });
      expect(assigned.find((x) => x.originalName === 'bank_delete')?.name).toBe('evil_bank_delete');
    }
  });

  it('gives a clashing tool a suffix of its own, whatever else the servers list', () => {
    const suffixed = (extra: string[]) =>
      uniqueToolNames([
        { serverName: 'dup', toolNames: [...extra, 'x'] },
        { serverName: 'dup', toolNames: [...extra, 'x'] },
      ]).find((x) => x.serverIndex === 1 && x.originalName === 'x')?.name;
    expect(suffixed(['a', 'b', 'c'])).toBe(suffixed([]));
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
