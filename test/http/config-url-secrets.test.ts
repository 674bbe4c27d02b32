import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { maskUrlSecrets } from '../../src/http/mask-secrets.js';
import { jsonRequest, type Stack, startStack } from './stack.js';

// `/config` shows each user the server URL their session uses. A host's default server may carry
// a key in its query string; every user would read it there.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

describe('/config and secrets in a server URL', () => {
  it('shows the query parameters of the default server URL without their values', async () => {
    const url = `${stack.mcp.url}?api_key=qs-secret-123&tenant=acme-private`;
    const handler = createChatHandler({
      ...stack.options,
      mcp: { ...stack.options.mcp, defaultServer: { ...stack.options.mcp?.defaultServer, url } },
    });
    try {
      const connected = await handler.fetch(jsonRequest('/connect', 'qs-user', { llm: { model: 'fake' } }));
      expect(connected.status).toBe(200);
      const response = await handler.fetch(jsonRequest('/config/qs-user', 'qs-user'));
      const text = await response.text();
      expect(response.status).toBe(200);
      expect(text).not.toContain('qs-secret-123');
      expect(text).not.toContain('acme-private');
      expect(JSON.parse(text).mcp_server.url).toBe(`${stack.mcp.url}?api_key=*****&tenant=*****`);
    } finally {
      await handler.close();
    }
  });

  it('leaves a URL without query or credentials as it is, and hides one that does not parse', () => {
    expect(maskUrlSecrets('https://mcp.example.com/mcp')).toBe('https://mcp.example.com/mcp');
    expect(maskUrlSecrets('https://u:p@mcp.example.com/mcp?a=1&a=2')).toBe(
      'https://*****@mcp.example.com/mcp?a=*****&a=*****',
    );
    expect(maskUrlSecrets('not a url')).toBe('*****');
  });
});
