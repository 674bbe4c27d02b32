import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../demo/server.js';

// The demo with its tools behind OAuth (`startDemo({ oauth: true })`): a local authorization
// server with a consent page. The user opens the page, is sent to consent, clicks Allow, comes
// back through /llmchat/oauth/callback, and chats with the tools.
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const POLL = { timeout: 10_000 };

if (!hasChromium && process.env.CI) throw new Error(`CI is set but ${CHROMIUM} is missing.`);

describe.skipIf(!hasChromium)('demo chat page with an MCP server behind OAuth', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    demo = await startDemo({ port: 0, env: {}, oauth: true, scriptedSpeed: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    page = await (await browser.newContext()).newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('sends the user to consent, comes back connected and answers with a tool', async () => {
    await page.goto(demo.url);
    // Connecting answers 403 MCP_AUTHORIZATION_REQUIRED: the page goes to the consent page.
    await page.waitForURL((url) => url.pathname === '/authorize', POLL);
    expect(await page.locator('h1').textContent()).toContain('Allow mcp-llmchat');
    await page.locator('#allow').click();

    // The callback lands, redirects to the page, which connects with the user's token.
    await page.waitForURL((url) => url.href.startsWith(demo.url), POLL);
    await expect.poll(() => page.locator('#status').getAttribute('data-state'), POLL).toBe('connected');
    expect(new URL(page.url()).search).toBe('');
    expect(await page.locator('#tools-line').textContent()).toContain('calculate');

    await page.locator('#input').fill('what is 12 * 7?');
    await page.locator('#input').press('Enter');
    const answer = page.locator('.msg.assistant').last();
    await expect.poll(() => answer.getAttribute('data-state'), POLL).toBe('done');
    expect(await answer.locator('.bubble').textContent()).toContain('84');
    expect(pageErrors).toEqual([]);
  });
});
