import { afterAll, describe, expect, it } from 'vitest';
import { MemorySessionBackend } from '../../src/session/memory-session-backend.js';
import { historyKey } from '../../src/session/session-keys.js';
import { SessionStore } from '../../src/session/session-store.js';
import { TINY_PNG_BASE64 } from '../fixtures/test-mcp-server.js';

const backend = new MemorySessionBackend();
afterAll(() => backend.close());

// The first bytes of a JPEG, and text that is no image at all, in base64.
const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]).toString('base64');
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>').toString('base64');

describe('images in a stored history', () => {
  it('are checked again when read: one not of its stored type is left out, and its message says so', async () => {
    const turn = [
      { role: 'user', content: 'show me' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'c1', name: 'pics', arguments: {} },
          { id: 'c2', name: 'pics', arguments: {} },
        ],
      },
      {
        role: 'tool',
        toolCallId: 'c1',
        name: 'pics',
        content: 'three pictures',
        images: [
          { data: TINY_PNG_BASE64, mimeType: 'image/png' },
          // Stored before images were checked: a JPEG said to be a PNG, an SVG, data that is no base64.
          { data: JPEG_HEAD, mimeType: 'image/png' },
          { data: SVG, mimeType: 'image/svg+xml' },
          { data: '%%%%not base64%%%%%%', mimeType: 'image/png' },
        ],
      },
      { role: 'tool', toolCallId: 'c2', name: 'pics', content: 'one', images: [{ data: SVG, mimeType: 'image/png' }] },
      { role: 'assistant', content: 'Here they are.' },
    ];
    await backend.appendToList(historyKey('u'), [JSON.stringify(turn)], { ttlMs: 60_000 });
    const history = await new SessionStore(backend).getHistory('u');
    const [first, second] = history.filter((message) => message.role === 'tool');
    expect(first).toMatchObject({
      content: 'three pictures\n[3 images left out: not a PNG, JPEG, GIF or WebP image of the type stored]',
      images: [{ data: TINY_PNG_BASE64, mimeType: 'image/png' }],
    });
    expect(second?.content).toBe('one\n[an image left out: not a PNG, JPEG, GIF or WebP image of the type stored]');
    expect(second && 'images' in second).toBe(false);
    // The rest of the turn is as stored.
    expect(history.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'tool', 'assistant']);
  });
});
