import { describe, expect, it } from 'vitest';
import { toToolResult } from '../../src/mcp/tool-result.js';
import { truncateMiddle } from '../../src/mcp/truncate-middle.js';

// The leading bytes of each image type, in base64 (what the type check reads).
const PNG = 'iVBORw0KGgo=';
const WEBP = 'UklGRgAAAABXRUJQVlA4IA==';

describe('toToolResult', () => {
  it('joins text parts with newlines and uses the text as output', () => {
    const result = toToolResult({
      content: [
        { type: 'text', text: 'first' },
        { type: 'text', text: 'second' },
      ],
    });
    expect(result).toEqual({ text: 'first\nsecond', output: 'first\nsecond', isError: false });
  });

  it('marks isError results', () => {
    const result = toToolResult({ isError: true, content: [{ type: 'text', text: 'boom' }] });
    expect(result.isError).toBe(true);
    expect(result.text).toBe('boom');
  });

  it('returns images and describes them in the text', () => {
    // The 8-byte PNG signature: 12 base64 chars with one '=' of padding.
    const result = toToolResult({
      content: [
        { type: 'text', text: 'look' },
        { type: 'image', data: PNG, mimeType: 'image/png' },
      ],
    });
    expect(result.images).toEqual([{ data: PNG, mimeType: 'image/png' }]);
    expect(result.text).toBe('look\n[image: image/png, 8 bytes]');
  });

  it('keeps only images a provider can be sent: a known type, in base64; others are described as left out', () => {
    const result = toToolResult({
      content: [
        { type: 'image', data: 'PHNjcmlwdD4=', mimeType: 'text/html' },
        { type: 'image', data: '<<not base64>>', mimeType: 'image/png' },
        { type: 'image', data: 'aGVsbG8', mimeType: 'image/png' },
        { type: 'image', data: WEBP, mimeType: 'image/WEBP' },
      ],
    });
    expect(result.images).toEqual([{ data: WEBP, mimeType: 'image/webp' }]);
    expect(result.text.split('\n')).toEqual([
      '[image: text/html, left out: not a PNG, JPEG, GIF or WebP image in base64]',
      '[image: image/png, left out: not a PNG, JPEG, GIF or WebP image in base64]',
      '[image: image/png, left out: not a PNG, JPEG, GIF or WebP image in base64]',
      '[image: image/webp, 16 bytes]',
    ]);
  });

  it('prefers structured content: output is the object, text its JSON', () => {
    const weather = { city: 'Paris', temperature: 21 };
    const result = toToolResult({
      content: [{ type: 'text', text: 'It is 21 degrees in Paris' }],
      structuredContent: weather,
    });
    expect(result.output).toEqual(weather);
    expect(JSON.parse(result.text)).toEqual(weather);
    expect(result.text).not.toContain('degrees');
  });

  it('treats the legacy toolResult field as structured content', () => {
    const result = toToolResult({ toolResult: { ok: true } });
    expect(result.output).toEqual({ ok: true });
    expect(result.text).toBe('{"ok":true}');
  });

  it('describes audio, embedded resources and resource links', () => {
    const result = toToolResult({
      content: [
        { type: 'audio', data: 'AAAA', mimeType: 'audio/wav' },
        { type: 'resource', resource: { uri: 'file:///notes.txt', text: 'hello notes' } },
        { type: 'resource', resource: { uri: 'file:///a.bin', mimeType: 'application/zip', blob: 'AAAAAA==' } },
        { type: 'resource_link', uri: 'file:///readme.md', name: 'readme', description: 'The readme' },
      ],
    });
    expect(result.text.split('\n')).toEqual([
      '[audio: audio/wav, 3 bytes]',
      '[resource: file:///notes.txt]',
      'hello notes',
      '[resource: file:///a.bin, application/zip, 4 bytes]',
      '[resource link: readme <file:///readme.md>: The readme]',
    ]);
    expect(result.images).toBeUndefined();
  });

  it('cuts long text keeping head and tail, and the output with it', () => {
    const long = `HEAD${'x'.repeat(50_000)}TAIL`;
    const result = toToolResult({ content: [{ type: 'text', text: long }] }, { maxResultChars: 1_000 });
    expect(result.text.length).toBeLessThanOrEqual(1_000);
    expect(result.text.startsWith('HEAD')).toBe(true);
    expect(result.text.endsWith('TAIL')).toBe(true);
    expect(result.text).toMatch(/\n…\[truncated \d+ characters\]…\n/);
    expect(result.output).toBe(result.text);
  });

  it('replaces a huge structured output by the cut text', () => {
    const result = toToolResult(
      { content: [], structuredContent: { rows: 'y'.repeat(5_000) } },
      { maxResultChars: 200 },
    );
    expect(typeof result.output).toBe('string');
    expect(result.text.length).toBeLessThanOrEqual(200);
  });
});

describe('truncateMiddle', () => {
  it('leaves short text alone', () => {
    expect(truncateMiddle('short', 10)).toBe('short');
  });

  it('reports exactly how many characters were dropped', () => {
    const text = 'a'.repeat(100) + 'b'.repeat(100);
    const cut = truncateMiddle(text, 80);
    const dropped = Number(/truncated (\d+) characters/.exec(cut)?.[1]);
    const kept = cut.replace(/\n…\[truncated \d+ characters\]…\n/, '');
    expect(kept.length + dropped).toBe(text.length);
    expect(cut.length).toBeLessThanOrEqual(80);
  });

  it('never splits a surrogate pair', () => {
    const text = '😀'.repeat(100);
    const cut = truncateMiddle(text, 61);
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });
});
