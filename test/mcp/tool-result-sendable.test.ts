import { describe, expect, it } from 'vitest';
import { toToolResult } from '../../src/mcp/tool-result.js';

// The leading bytes of each image type, in base64.
const PNG = 'iVBORw0KGgo=';
const JPEG = '/9j/4AAQSkY=';
const GIF = 'R0lGODlhAQA=';
const WEBP = 'UklGRgAAAABXRUJQVlA4IA==';
const LEFT_OUT = 'left out: not a PNG, JPEG, GIF or WebP image in base64';

describe('toToolResult keeps only what a provider can be sent', () => {
  it('replaces a lone surrogate (a string cut inside an emoji) in the text and the output', () => {
    // JSON "\ud83d" parses to a lone high surrogate, as an MCP server's answer may.
    const answer = JSON.parse(
      '{"content":[{"type":"text","text":"title: Party \\ud83d"},{"type":"text","text":"\\ude00 end"}]}',
    );
    const result = toToolResult(answer);
    expect(result.text).toBe('title: Party \ufffd\n\ufffd end');
    expect(result.output).toBe(result.text);
    // A whole pair is no lone surrogate.
    expect(toToolResult({ content: [{ type: 'text', text: 'Party 😀' }] }).text).toBe('Party 😀');
  });

  it('cleans the text of structured content without touching the structured output', () => {
    const structured = JSON.parse('{"title":"\\ud83d"}');
    const result = toToolResult({ content: [], structuredContent: structured });
    expect(result.text).toBe('{"title":"\\ud83d"}'); // JSON of it: the escape is plain ASCII text
    expect(result.output).toBe(structured);
    const legacy = toToolResult({ toolResult: '\ud83d' });
    expect([legacy.text, legacy.output]).toEqual(['\ufffd', '\ufffd']);
  });

  it('leaves out an image with empty data or bytes that are no image, with the left-out note', () => {
    const result = toToolResult({
      content: [
        { type: 'image', data: '', mimeType: 'image/png' },
        { type: 'image', data: 'AAAA', mimeType: 'image/png' },
        { type: 'image', data: 'aGVsbG8=', mimeType: 'image/jpeg' },
      ],
    });
    expect(result.images).toBeUndefined();
    expect(result.text.split('\n')).toEqual([
      `[image: image/png, ${LEFT_OUT}]`,
      `[image: image/png, ${LEFT_OUT}]`,
      `[image: image/jpeg, ${LEFT_OUT}]`,
    ]);
  });

  it('keeps PNG, JPEG, GIF and WebP data with the type its bytes say, whatever was declared', () => {
    const result = toToolResult({
      content: [
        { type: 'image', data: PNG, mimeType: 'image/png' },
        { type: 'image', data: JPEG, mimeType: 'image/png' },
        { type: 'image', data: GIF, mimeType: 'application/octet-stream' },
        { type: 'image', data: WEBP, mimeType: 'IMAGE/WEBP' },
      ],
    });
    expect(result.images).toEqual([
      { data: PNG, mimeType: 'image/png' },
      { data: JPEG, mimeType: 'image/jpeg' },
      { data: GIF, mimeType: 'image/gif' },
      { data: WEBP, mimeType: 'image/webp' },
    ]);
    expect(result.text.split('\n')).toEqual([
      '[image: image/png, 8 bytes]',
      '[image: image/jpeg, 8 bytes]',
      '[image: image/gif, 8 bytes]',
      '[image: image/webp, 16 bytes]',
    ]);
  });
});
