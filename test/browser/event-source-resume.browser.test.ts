import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toExpressMiddleware } from '../../src/adapters/express.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import { countWords, turnReply } from '../turns/turn-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`CI is set but ${CHROMIUM} is missing.`);

// The page a client would write: start a turn, leave it (a reload), then follow it with a plain
// EventSource on GET /chat/events. No resume code of its own: the browser's reconnection does it.
const PAGE = `<!doctype html><meta charset="utf-8"><script>
window.frames_ = []; window.states = [];
(async () => {
  document.cookie = 'user=eve';
  const json = { 'content-type': 'application/json' };
  await fetch('/llmchat/connect', { method: 'POST', headers: json, body: JSON.stringify({ llm: { model: 'fake' } }) });
  const first = await fetch('/llmchat/chat', { method: 'POST', headers: json, body: JSON.stringify({ message: 'count 80', streaming: true }) });
  const reader = first.body.getReader();
  await reader.read();
  await reader.cancel();
  const source = new EventSource('/llmchat/chat/events/eve');
  for (const name of ['token', 'final', 'error']) {
    source.addEventListener(name, (event) => window.frames_.push({ event: name, id: event.lastEventId, data: JSON.parse(event.data) }));
  }
  source.onerror = () => window.states.push(source.readyState);
})();
</script>`;

describe.skipIf(!hasChromium)('a plain EventSource resumes a turn by itself (headless Chromium)', () => {
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  let server: Server;
  let browser: Browser;
  let handler: ReturnType<typeof createChatHandler>;
  /** The Last-Event-ID of each GET /chat/events, in order. */
  const eventRequests: string[] = [];

  beforeAll(async () => {
    llm = await startFakeOpenAI({ reply: turnReply });
    mcp = await startTestMcpHttpServer();
    handler = createChatHandler({
      // EventSource sends no custom headers: the page's cookie says who it is.
      authenticate: (request) => {
        const match = /(?:^|;\s*)user=([^;]+)/.exec(request.headers.get('cookie') ?? '');
        return match?.[1] ? { id: match[1] } : null;
      },
      models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: llm.url, apiKey: 'sk-browser' }],
      mcp: { defaultServer: { url: mcp.url }, allowedUrls: [mcp.url] },
      keepAliveMs: 0,
    });
    const app = express();
    app.get('/', (_req, res) => {
      res.type('html').send(PAGE);
    });
    // The first event stream is cut after a few frames, as a proxy or a network switch would.
    app.use('/llmchat/chat/events', (req, res, next) => {
      const count = eventRequests.push(String(req.headers['last-event-id'] ?? ''));
      if (count === 1) {
        let writes = 0;
        const write = res.write.bind(res) as (...args: unknown[]) => boolean;
        res.write = ((...args: unknown[]) => {
          const ok = write(...args);
          writes += 1;
          if (writes === 3) setImmediate(() => res.socket?.destroy());
          return ok;
        }) as typeof res.write;
      }
      next();
    });
    app.use('/llmchat', toExpressMiddleware(handler));
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await handler?.close();
    await Promise.all([llm?.close(), mcp?.close()]);
  });

  it('gets every event of the turn exactly once across a cut connection, then stops on 204', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    // EventSource.CLOSED (2) after an error: the 204 that follows the turn's end.
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { states: number[] }).states.at(-1)), { timeout: 20_000 })
      .toBe(2);
    const frames = await page.evaluate(
      () =>
        (window as unknown as { frames_: Array<{ event: string; id: string; data: Record<string, unknown> }> }).frames_,
    );
    const turnId = String(frames.at(-1)?.data.turn_id);
    expect(frames.map((frame) => frame.id)).toEqual(frames.map((_, i) => `${turnId}:${i + 1}`));
    expect(
      frames
        .filter((f) => f.event === 'token')
        .map((f) => f.data.content)
        .join(''),
    ).toBe(countWords(80).join(''));
    expect(frames.at(-1)?.event).toBe('final');
    // The browser resumed with the id it had, and came back once more after the end.
    expect(eventRequests).toHaveLength(3);
    expect(eventRequests[0]).toBe('');
    expect(eventRequests[1]).toMatch(new RegExp(`^${turnId}:\\d+$`));
    expect(eventRequests[2]).toBe(`${turnId}:${frames.length}`);
    await page.close();
  }, 40_000);
});
