import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../demo/server.js';
import { chromiumAvailable, launchChromium, POLL } from './chromium.js';

// What a model (or a saved history) can send that once broke the demo page: block quotes nested
// thousands deep, an undecodable `#c=` address, and inputs that made a render or the SSE parser
// quadratic. No timings here: the page must draw the right thing, and where the fix was about
// work, the work is counted (characters searched), not timed.

const available = chromiumAvailable('the demo hardening browser test');
/** demo/public/js/markdown.js MAX_DEPTH. */
const MAX_DEPTH = 32;
/** Deep enough to overflow the stack when every `>` was one more recursion. */
const DEPTH = 6000;
const DEEP_QUOTE = `Quote:\n\n${'>'.repeat(DEPTH)} hi`;

interface DemoHooks {
  renderMarkdown(source: string): DocumentFragment;
  createSseParser(onEvent: (message: { event: string; id: string | null; data: unknown }) => void): {
    push(chunk: string): void;
    end(): void;
  };
  state: { conversationId: string | null };
}

function sse(events: [event: string, data: unknown][]): string {
  return events
    .map(([event, data], index) => `id: ${index + 1}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    .join('');
}

describe.skipIf(!available)('demo page: hostile answers and addresses', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    demo = await startDemo({ port: 0, env: {}, scriptedSpeed: 0 });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  async function openPage(hash = ''): Promise<void> {
    await context?.close();
    pageErrors.length = 0;
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('crash', () => pageErrors.push('the tab crashed'));
    await page.goto(`${demo.url}${hash}`);
    await expect.poll(() => page.locator('#status').getAttribute('data-state'), POLL).toBe('connected');
  }

  async function ask(text: string): Promise<void> {
    const before = await page.locator('.msg.assistant').count();
    await page.locator('#input').fill(text);
    await page.locator('#input').press('Enter');
    await expect.poll(() => page.locator('.msg.assistant').count(), POLL).toBe(before + 1);
  }

  const conversationId = () =>
    page.evaluate(() => (window as unknown as { mcpLlmchatDemo: DemoHooks }).mcpLlmchatDemo.state.conversationId);

  it('streams an answer with block quotes nested thousands deep: 32 levels, the rest as text', async () => {
    await openPage();
    await page.route('**/llmchat/chat', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'text/event-stream',
        body: sse([
          ['token', { content: DEEP_QUOTE }],
          ['final', { content: '', elapsed_ms: 5 }],
        ]),
      }),
    );
    await ask('quote something');
    const answer = page.locator('.msg.assistant').last();
    await expect.poll(() => answer.getAttribute('data-state'), POLL).toBe('done');
    const bubble = answer.locator('.bubble');
    expect(await bubble.locator('blockquote').count()).toBe(MAX_DEPTH);
    expect(await bubble.textContent()).toBe(`Quote:${'>'.repeat(DEPTH - MAX_DEPTH)} hi`);
    // Still usable: the next answer streams as usual.
    await page.unroute('**/llmchat/chat');
    await ask('What is 12 * 7?');
    await expect.poll(() => page.locator('.msg.assistant').last().getAttribute('data-state'), POLL).toBe('done');
    expect(await page.locator('.msg.assistant').last().locator('.bubble').textContent()).toContain('84');
    expect(pageErrors).toEqual([]);
  });

  it('draws a whole history past a deep quote and past messages it cannot render as Markdown', async () => {
    await context?.close();
    context = await browser.newContext();
    const now = new Date().toISOString();
    await context.route('**/llmchat/conversations/**', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          conversations: [{ conversation_id: 'c-poisoned', title: 'poisoned', updated_at: now }],
        }),
      }),
    );
    await context.route('**/llmchat/history/**', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          messages: [
            { role: 'user', content: 'first question' },
            { role: 'assistant', content: DEEP_QUOTE },
            { role: 'user', content: 'second question' },
            { role: 'assistant', content: 42 }, // not text: the renderer throws on it
            { role: 'user', content: 'third question' },
            { role: 'assistant', content: 'tools gone odd', tool_calls: 5 }, // not a list
            { role: 'user', content: 'last question' },
            { role: 'assistant', content: '**last** answer' },
          ],
        }),
      }),
    );
    pageErrors.length = 0;
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('crash', () => pageErrors.push('the tab crashed'));
    // The newest conversation opens by itself: a bad answer in it once broke every page load.
    await page.goto(demo.url);
    await expect.poll(() => page.locator('#messages > li').count(), POLL).toBe(8);
    expect(await conversationId()).toBe('c-poisoned');
    const answers = page.locator('.msg.assistant .bubble');
    expect(await answers.nth(0).locator('blockquote').count()).toBe(MAX_DEPTH);
    expect(await answers.nth(1).textContent()).toBe('42');
    expect(await answers.nth(2).textContent()).toBe('tools gone odd');
    expect(await answers.nth(3).locator('strong').textContent()).toBe('last');
    expect(await page.locator('.msg.user .bubble').allTextContents()).toEqual([
      'first question',
      'second question',
      'third question',
      'last question',
    ]);
    expect(pageErrors).toEqual([]);
  });

  it('starts a new conversation when the #c= address is broken or not a conversation id', async () => {
    for (const hash of ['#c=%E0%A4%A', `#c=${'x'.repeat(129)}`, '#c=has%20space', '#c=%3Cb%3E']) {
      await openPage(hash);
      const id = await conversationId();
      expect(id, hash).toMatch(/^c-[a-z0-9]+-[0-9a-f]{12}$/);
      expect(await page.evaluate(() => location.hash)).toBe(`#c=${id}`);
      expect(await page.locator('.error-box').count()).toBe(0);
      expect(pageErrors, hash).toEqual([]);
    }
    // And the page works: a question gets its answer in that new conversation.
    await ask('What is 12 * 7?');
    await expect.poll(() => page.locator('.msg.assistant').last().getAttribute('data-state'), POLL).toBe('done');
    expect(await page.locator('.msg.assistant').last().locator('.bubble').textContent()).toContain('84');

    // A well-formed id in the address is still opened as it is.
    await openPage('#c=my.chat_1:a-b');
    expect(await conversationId()).toBe('my.chat_1:a-b');
    expect(pageErrors).toEqual([]);
  });

  it('renders runs of unclosed emphasis markers as text, searching each stretch of a line once per marker', async () => {
    await openPage();
    const result = await page.evaluate(() => {
      const hooks = (window as unknown as { mcpLlmchatDemo: DemoHooks }).mcpLlmchatDemo;
      // Openers that never close made each render quadratic: every opener searched to the end
      // of the line. Long runs of spaces made some line patterns backtrack quadratically.
      const source = [
        '*a '.repeat(3000),
        '**a '.repeat(3000),
        '_a '.repeat(3000),
        '__a '.repeat(3000),
        '~~a '.repeat(3000),
        `\`\`\` ${' '.repeat(2000)}!`,
        `# heading${' '.repeat(2000)}x ##`,
        `- - -${' '.repeat(2000)}`,
      ].join('\n\n');
      // Count the characters String.prototype.indexOf goes over while rendering (the markers' searches).
      const original = String.prototype.indexOf;
      let searched = 0;
      String.prototype.indexOf = function (this: string, search: string, from?: number) {
        const start = Math.max(0, Math.min(from ?? 0, this.length));
        const found = original.call(this, search, start);
        searched += (found === -1 ? this.length : found) - start;
        return found;
      };
      const box = document.createElement('div');
      try {
        box.append(hooks.renderMarkdown(source));
      } finally {
        String.prototype.indexOf = original;
      }
      return { sourceLength: source.length, searched, html: [...box.children].map((node) => node.outerHTML) };
    });
    expect(result.html).toEqual([
      `<p>${'*a '.repeat(3000).trim()}</p>`,
      // Only `*a *` closes (the second star of `**` opens, a star before another closes).
      `<p>${'*<em>a *</em>a '.repeat(1500).trim()}</p>`,
      `<p>${'_a '.repeat(3000).trim()}</p>`,
      `<p>${'__a '.repeat(3000).trim()}</p>`,
      `<p>${'~~a '.repeat(3000).trim()}</p>`,
      `<p>\`\`\` ${' '.repeat(2000)}!</p>`,
      `<h3>heading${' '.repeat(2000)}x</h3>`,
      '<hr>',
    ]);
    // From every opener to the end of its line was about length²/2 per line; shared searches
    // keep it to a few passes over the text.
    expect(result.searched).toBeLessThan(10 * result.sourceLength);
  });

  it('parses SSE split anywhere, normalizing each chunk once instead of the whole buffer', async () => {
    await openPage();
    const result = await page.evaluate(() => {
      const hooks = (window as unknown as { mcpLlmchatDemo: DemoHooks }).mcpLlmchatDemo;
      const parse = (chunks: string[]) => {
        const events: string[] = [];
        const parser = hooks.createSseParser((message) => events.push(JSON.stringify(message)));
        for (const chunk of chunks) parser.push(chunk);
        parser.end();
        return events;
      };
      // CRLF, CR and LF line ends, a comment, a multi-line data field, an event without data.
      const stream =
        ': ping\r\n\r\nid: 1\r\nevent: token\r\ndata: {"content":"a"}\r\n\r\n' +
        'id: 2\revent: token\rdata: {"content":"b"}\r\rid: 3\nevent: note\ndata: line one\ndata: line two\n\n' +
        'event: empty\n\nid: 4\nevent: final\ndata: {"content":"ab"}';
      const whole = parse([stream]);
      const mismatches: string[] = [];
      for (let i = 0; i <= stream.length; i++) {
        for (let j = i; j <= stream.length; j++) {
          const split = parse([stream.slice(0, i), stream.slice(i, j), stream.slice(j)]);
          if (JSON.stringify(split) !== JSON.stringify(whole)) mismatches.push(`${i},${j}`);
        }
      }
      const byChar = parse([...stream]);

      // One long event in many chunks: count the characters that replace() and indexOf() go over.
      const originalReplace = String.prototype.replace;
      const originalIndexOf = String.prototype.indexOf;
      let scanned = 0;
      String.prototype.replace = function (this: string, ...args: Parameters<string['replace']>) {
        scanned += this.length;
        return originalReplace.apply(this, args);
      } as typeof String.prototype.replace;
      String.prototype.indexOf = function (this: string, search: string, from?: number) {
        scanned += this.length - Math.max(0, Math.min(from ?? 0, this.length));
        return originalIndexOf.call(this, search, from);
      };
      const chunk = 'x'.repeat(1024);
      const chunks = 1024;
      let received = 0;
      try {
        const parser = hooks.createSseParser((message) => {
          received = String(message.data).length;
        });
        parser.push('event: token\ndata: ');
        for (let k = 0; k < chunks; k++) parser.push(chunk);
        parser.push('\n\n');
        parser.end();
      } finally {
        String.prototype.replace = originalReplace;
        String.prototype.indexOf = originalIndexOf;
      }
      return { whole, mismatches: mismatches.slice(0, 5), byChar, received, scanned, total: chunk.length * chunks };
    });
    expect(result.whole.map((event) => JSON.parse(event))).toEqual([
      { event: 'token', id: '1', data: { content: 'a' } },
      { event: 'token', id: '2', data: { content: 'b' } },
      { event: 'note', id: '3', data: 'line one\nline two' },
      { event: 'final', id: '4', data: { content: 'ab' } },
    ]);
    expect(result.mismatches).toEqual([]);
    expect(result.byChar).toEqual(result.whole);
    expect(result.received).toBe(result.total);
    // Re-normalizing and searching the whole buffer per chunk went over it chunks²/2 times.
    expect(result.scanned).toBeLessThan(4 * result.total);
  });
});
