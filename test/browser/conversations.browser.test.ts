import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../demo/server.js';
import { artifact, chromiumAvailable, launchChromium, POLL } from './chromium.js';

const available = chromiumAvailable('the demo conversations browser test');

describe.skipIf(!available)('demo page: conversations survive a reload', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    demo = await startDemo({ port: 0, env: {} });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await demo?.close();
  });

  const answers = () => page.locator('.msg.assistant');
  const listed = () => page.locator('#conversation-list .conversation-title').allTextContents();

  async function ask(text: string): Promise<void> {
    const before = await answers().count();
    await page.locator('#input').fill(text);
    await page.locator('#input').press('Enter');
    await expect.poll(() => answers().count(), POLL).toBe(before + 1);
    await expect.poll(() => answers().last().getAttribute('data-state'), POLL).toBe('done');
  }

  it('lists conversations, switches between them and redraws each one after a reload', async () => {
    await page.goto(demo.url);
    await expect.poll(() => page.locator('#status').getAttribute('data-state'), POLL).toBe('connected');
    await ask('What is 12 * 7?');
    await expect.poll(listed, POLL).toEqual(['What is 12 * 7?']);

    await page.locator('#new-chat').click();
    expect(await page.locator('.msg').count()).toBe(0);
    await ask('Convert 10 km to miles');
    await expect.poll(listed, POLL).toEqual(['Convert 10 km to miles', 'What is 12 * 7?']);

    // Switching shows each conversation's own history, tool cards included.
    await page.locator('#conversation-list .conversation-open', { hasText: 'What is 12 * 7?' }).click();
    await expect.poll(() => page.locator('.msg.user .bubble').allTextContents(), POLL).toEqual(['What is 12 * 7?']);
    expect(await page.locator('details.tool-card[data-tool="calculate"]').count()).toBe(1);
    expect(await answers().last().locator('.bubble').textContent()).toContain('84');

    // A reload restores the list and the open conversation from the server.
    await page.reload();
    await expect.poll(listed, POLL).toEqual(['Convert 10 km to miles', 'What is 12 * 7?']);
    await expect.poll(() => page.locator('.msg.user .bubble').allTextContents(), POLL).toEqual(['What is 12 * 7?']);
    expect(await page.locator('details.tool-card[data-tool="calculate"] .tool-section.output pre').textContent()).toBe(
      '12 * 7 = 84',
    );
    await page.screenshot({ path: artifact('conversations.png') });
    expect(pageErrors).toEqual([]);
  });

  it('deletes a conversation for good', async () => {
    await page
      .locator('#conversation-list .conversation', { hasText: 'Convert 10 km' })
      .locator('.conversation-delete')
      .click();
    await expect.poll(listed, POLL).toEqual(['What is 12 * 7?']);
    await page.reload();
    await expect.poll(() => page.locator('#status').getAttribute('data-state'), POLL).toBe('connected');
    await expect.poll(listed, POLL).toEqual(['What is 12 * 7?']);
    expect(pageErrors).toEqual([]);
  });

  it('restores a conversation on a phone, with the list in a drawer', async () => {
    // The desktop page's storage: the same demo user.
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      storageState: await context.storageState(),
    });
    try {
      const small = await phone.newPage();
      small.on('pageerror', (error) => pageErrors.push(error.message));
      await small.goto(demo.url);
      await expect.poll(() => small.locator('.msg.user .bubble').allTextContents(), POLL).toEqual(['What is 12 * 7?']);
      expect(await small.locator('#sidebar').isVisible()).toBe(true); // in the DOM, off screen
      const box = await small.locator('#sidebar').boundingBox();
      expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(0);
      await small.locator('#sidebar-toggle').click();
      await expect.poll(async () => (await small.locator('#sidebar').boundingBox())?.x, POLL).toBe(0);
      await small.screenshot({ path: artifact('conversations-phone-list.png') });
      // A tap beside the drawer closes it.
      await small.mouse.click(370, 600);
      await expect.poll(async () => (await small.locator('#sidebar').boundingBox())?.x ?? 0, POLL).toBeLessThan(-100);
      expect(await small.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await small.screenshot({ path: artifact('conversations-phone.png') });
      expect(pageErrors).toEqual([]);
    } finally {
      await phone.close();
    }
  }, 40_000);
});
