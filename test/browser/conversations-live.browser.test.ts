import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../demo/server.js';
import { artifact, chromiumAvailable, launchChromium } from './chromium.js';

const available = chromiumAvailable('the demo live-conversation browser test');
const STORY = 'Tell me a long story';
/** The story streams for about ten seconds; a reload and a second tab must find it still running. */
const LONG = { timeout: 30_000 };

describe.skipIf(!available)('demo page: a running answer survives a reload and is shared by tabs', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let context: BrowserContext;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    demo = await startDemo({ port: 0, env: {} });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await demo?.close();
  });

  async function open(): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return page;
  }
  const answers = (page: Page) => page.locator('.msg.assistant');
  const lastAnswer = (page: Page) => answers(page).last();
  const answerText = async (page: Page) => (await lastAnswer(page).locator('.bubble').textContent()) ?? '';
  const state = (page: Page) => lastAnswer(page).getAttribute('data-state');
  const connected = (page: Page) =>
    expect.poll(() => page.locator('#status').getAttribute('data-state'), LONG).toBe('connected');

  async function startStory(page: Page): Promise<void> {
    const before = await answers(page).count();
    await page.locator('#input').fill(STORY);
    await page.locator('#input').press('Enter');
    await expect.poll(() => answers(page).count(), LONG).toBe(before + 1);
  }
  async function currentConversation(page: Page): Promise<string> {
    return page.evaluate(
      () =>
        (window as unknown as { mcpLlmchatDemo: { state: { conversationId: string } } }).mcpLlmchatDemo.state
          .conversationId,
    );
  }

  let uninterrupted = '';

  it('streams the story to its end without interruption (the reference text)', async () => {
    const page = await open();
    await page.goto(demo.url);
    await connected(page);
    await startStory(page);
    await expect.poll(() => state(page), LONG).toBe('done');
    uninterrupted = await answerText(page);
    expect(uninterrupted).toContain('the machine stopped, mid-sentence, politely');
    await page.close();
  }, 60_000);

  it('a reload in the middle of the answer picks it up and ends with the same text', async () => {
    const page = await open();
    await page.goto(demo.url);
    await connected(page);
    await page.locator('#new-chat').click();
    await startStory(page);
    await expect.poll(async () => (await answerText(page)).length, LONG).toBeGreaterThan(40);
    const conversation = await currentConversation(page);
    expect(await state(page)).not.toBe('done');
    await page.reload();
    await connected(page);
    // "connected" comes before the page has listed the conversations and picked its own.
    await expect.poll(() => currentConversation(page), LONG).toBe(conversation);
    // The question and the resumed answer are back, then the answer runs to its end.
    await expect.poll(() => page.locator('.msg.user .bubble').allTextContents(), LONG).toEqual([STORY]);
    await expect.poll(() => state(page), LONG).toBe('done');
    expect(await answers(page).count()).toBe(1);
    expect(await answerText(page)).toBe(uninterrupted);
    // The saved history redraws the same text.
    await page.reload();
    await expect.poll(() => state(page), LONG).toBe('done');
    expect(await answerText(page)).toBe(uninterrupted);
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('switching away from a running answer shows the other history, and switching back follows it again', async () => {
    const page = await open();
    await page.goto(demo.url);
    await connected(page);
    const ask = async (text: string) => {
      await page.locator('#input').fill(text);
      await page.locator('#input').press('Enter');
      await expect.poll(() => state(page), LONG).toBe('done');
    };
    await page.locator('#new-chat').click();
    await ask('Hello there');
    const other = await currentConversation(page);
    await page.locator('#new-chat').click();
    await ask('What is 12 * 7?');
    const mine = await currentConversation(page);
    await startStory(page);
    await expect.poll(async () => (await answerText(page)).length, LONG).toBeGreaterThan(20);

    await page.locator(`#conversation-list .conversation[data-id="${other}"] .conversation-open`).click();
    await expect.poll(() => page.locator('.msg.user .bubble').allTextContents(), LONG).toEqual(['Hello there']);
    expect(await answers(page).count()).toBe(1);
    expect(await page.locator('#send-button').isVisible()).toBe(true);
    // The story went on meanwhile; back in its conversation the page follows it to its end.
    await page.locator(`#conversation-list .conversation[data-id="${mine}"] .conversation-open`).click();
    await expect
      .poll(() => page.locator('.msg.user .bubble').allTextContents(), LONG)
      .toEqual(['What is 12 * 7?', STORY]);
    await expect.poll(() => state(page), LONG).toBe('done');
    expect(await answers(page).count()).toBe(2);
    expect(await answerText(page)).toBe(uninterrupted);
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('a second tab follows the running answer live, and its Stop ends the first tab too', async () => {
    const first = await open();
    await first.goto(demo.url);
    await connected(first);
    await first.locator('#new-chat').click();
    const conversation = await currentConversation(first);
    const second = await open();
    await second.goto(`${demo.url}#c=${encodeURIComponent(conversation)}`);
    await connected(second);
    await expect.poll(() => currentConversation(second), LONG).toBe(conversation);

    await startStory(first);
    // The second tab shows the question and the answer as it grows, while it is still running.
    await expect.poll(() => second.locator('.msg.user .bubble').allTextContents(), LONG).toEqual([STORY]);
    await expect.poll(async () => (await answerText(second)).length, LONG).toBeGreaterThan(40);
    expect(await state(second)).not.toBe('done');
    expect(await second.locator('#stop-button').isVisible()).toBe(true);
    const seenBefore = (await answerText(second)).length;
    await expect.poll(async () => (await answerText(second)).length, LONG).toBeGreaterThan(seenBefore);

    await second.locator('#stop-button').click();
    await expect.poll(() => state(first), LONG).toBe('stopped');
    await expect.poll(() => state(second), LONG).toBe('stopped');
    for (const page of [first, second]) {
      expect(await lastAnswer(page).locator('.badge', { hasText: 'Stopped' }).count()).toBe(1);
      expect(await page.locator('#send-button').isVisible()).toBe(true);
    }
    const stoppedText = await answerText(first);
    expect(stoppedText.length).toBeLessThan(uninterrupted.length);
    expect(await answerText(second)).toBe(stoppedText);

    // The history keeps the stopped turn.
    const history = await first.evaluate(async (id) => {
      const user = localStorage.getItem('mcp-llmchat-demo-user') ?? '';
      const response = await fetch(`/llmchat/history/${user}?conversation_id=${encodeURIComponent(id)}`, {
        headers: { 'x-demo-user': user },
      });
      return response.json();
    }, conversation);
    const answer = history.messages.find((m: { role: string }) => m.role === 'assistant');
    expect(answer).toMatchObject({ stopped: true });
    await first.screenshot({ path: artifact('conversations-stopped-first-tab.png') });
    await second.screenshot({ path: artifact('conversations-stopped-second-tab.png') });
    await Promise.all([first.close(), second.close()]);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('screenshots the list and a restored conversation at desktop and phone widths', async () => {
    const desktop = await open();
    await desktop.goto(demo.url);
    await connected(desktop);
    await expect
      .poll(() => desktop.locator('#conversation-list .conversation').count(), LONG)
      .toBeGreaterThanOrEqual(3);
    await expect.poll(() => state(desktop), LONG).toMatch(/done|stopped/);
    await desktop.screenshot({ path: artifact('conversations-desktop.png') });
    await desktop.close();

    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      storageState: await context.storageState(),
    });
    try {
      const small = await phone.newPage();
      small.on('pageerror', (error) => pageErrors.push(error.message));
      await small.goto(demo.url);
      await expect.poll(() => state(small), LONG).toMatch(/done|stopped/);
      await small.screenshot({ path: artifact('conversations-phone-restored.png') });
      await small.locator('#sidebar-toggle').click();
      await expect.poll(async () => (await small.locator('#sidebar').boundingBox())?.x, LONG).toBe(0);
      expect(await small.locator('#conversation-list .conversation').count()).toBeGreaterThanOrEqual(3);
      await small.screenshot({ path: artifact('conversations-phone-list-open.png') });
    } finally {
      await phone.close();
    }
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
