import { describe, expect, it } from 'vitest';
import { checkServerUrl, normalizeAllowedUrl } from '../../src/http/server-url-policy.js';

const allowed = ['https://tools.example.com/mcp', 'http://localhost:8931/'].map(normalizeAllowedUrl);
const refused = (raw: string) => expect(() => checkServerUrl(raw, allowed)).toThrow(/not an allowed MCP server/);

describe('checkServerUrl', () => {
  it('allows URLs under an entry (whole segments) and answers them normalized', () => {
    expect(checkServerUrl('https://TOOLS.example.com/mcp', allowed)).toBe('https://tools.example.com/mcp');
    expect(checkServerUrl('https://tools.example.com/mcp/x?y=1#frag', allowed)).toBe(
      'https://tools.example.com/mcp/x?y=1',
    );
    expect(checkServerUrl('http://localhost:8931/anything', allowed)).toBe('http://localhost:8931/anything');
  });

  it('refuses other paths, hosts, schemes, credentials and over-long URLs', () => {
    refused('https://tools.example.com/mcpx');
    refused('https://tools.example.com/');
    refused('https://evil.example.com/mcp');
    refused('ftp://tools.example.com/mcp');
    refused('https://user:pw@tools.example.com/mcp');
    refused('https://tools.example.com/mcp\\..\\x');
    refused(`https://tools.example.com/mcp/${'a'.repeat(2100)}`);
  });

  it('answers the same on every call, and while many distinct URLs go through it', () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 700; i++) {
        expect(checkServerUrl(`https://tools.example.com/mcp/${i}`, allowed)).toBe(
          `https://tools.example.com/mcp/${i}`,
        );
        refused(`https://elsewhere.example.com/${i}`);
      }
      expect(checkServerUrl('https://tools.example.com/mcp', allowed)).toBe('https://tools.example.com/mcp');
      refused('https://tools.example.com/mcpx');
    }
  });
});
