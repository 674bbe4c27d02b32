import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../demo/server.js';
import { ARTIFACTS, chromiumAvailable, launchChromium, POLL } from './chromium.js';

const hasChromium = chromiumAvailable('the demo browser test');

describe.skipIf(!hasChromium)('demo chat page in headless Chromium', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // No API keys: the scripted model answers, exactly as `npm run demo` does on a fresh machine.
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

  const lastAnswer = () => page.locator('.msg.assistant').last();

  async function ask(text: string): Promise<void> {
    await page.locator('#input').fill(text);
    await page.locator('#input').press('Enter');
  }

  it('lists the scripted model, shows its notice and connects to the demo MCP server', async () => {
    await page.goto(demo.url);
    await expect
      .poll(() => page.locator('#model-select option').allTextContents(), POLL)
      .toEqual(['Scripted demo model · Built-in, no AI']);
    expect(await page.locator('#model-select').inputValue()).toBe('demo-scripted');
    expect(await page.locator('#notice').isVisible()).toBe(true);
    await expect.poll(() => page.locator('#status').getAttribute('data-state'), POLL).toBe('connected');
    expect(await page.locator('#status').textContent()).toContain('Connected · 7 tools');

    // Disconnect and connect again with the button.
    await page.locator('#connect-button').click();
    await expect.poll(() => page.locator('#status').getAttribute('data-state'), POLL).toBe('disconnected');
    await page.locator('#connect-button').click();
    await expect.poll(() => page.locator('#status').getAttribute('data-state'), POLL).toBe('connected');
    expect(await page.locator('#tools-line').textContent()).toContain('calculate');
  });

  it('streams an answer that used the calculate tool, with a tool card showing input and output', async () => {
    await ask('what is 12 * 7?');
    const card = lastAnswer().locator('details.tool-card[data-tool="calculate"]');
    await expect.poll(() => card.getAttribute('data-state'), POLL).toBe('done');
    await card.locator('summary').click();
    expect(await card.locator('.tool-section.input pre').textContent()).toContain('"expression": "12 * 7"');
    expect(await card.locator('.tool-section.output pre').textContent()).toBe('12 * 7 = 84');

    await expect.poll(() => lastAnswer().getAttribute('data-state'), POLL).toBe('done');
    const bubble = lastAnswer().locator('.bubble');
    expect(await bubble.textContent()).toContain('84');
    // Markdown became elements: **84** is bold, `calculate` is inline code.
    expect(await bubble.locator('strong').first().textContent()).toBe('84');
    expect(await bubble.locator('code').first().textContent()).toBe('calculate');
    expect(await lastAnswer().locator('.meta').textContent()).toContain('Tools used: calculate');
    expect(await page.locator('#input').inputValue()).toBe('');
  });

  it('stops a long answer with the Stop button and stays usable', async () => {
    await ask('Tell me a long story');
    const bubble = lastAnswer().locator('.bubble');
    await expect.poll(async () => ((await bubble.textContent()) ?? '').length, POLL).toBeGreaterThan(80);
    expect(await page.locator('#send-button').isHidden()).toBe(true);

    await page.locator('#stop-button').click();
    await expect.poll(() => lastAnswer().getAttribute('data-state'), POLL).toBe('stopped');
    expect(await page.locator('#send-button').isVisible()).toBe(true);
    expect(await page.locator('#stop-button').isHidden()).toBe(true);
    const stoppedLength = ((await bubble.textContent()) ?? '').length;
    // The story takes about ten seconds; had the stream kept going, text would grow within this wait.
    await page.waitForTimeout(700);
    expect(((await bubble.textContent()) ?? '').length).toBe(stoppedLength);
    expect(stoppedLength).toBeLessThan(1500);
    expect(await lastAnswer().locator('.badge.stopped').textContent()).toBe('Stopped');

    // Usable again right away: the next question gets its answer.
    await ask('Convert 10 km to miles');
    await expect.poll(() => lastAnswer().getAttribute('data-state'), POLL).toBe('done');
    expect(await lastAnswer().locator('.bubble').textContent()).toContain('6.213711922 mi');
    await page.screenshot({ path: new URL('demo.png', ARTIFACTS).pathname, fullPage: false });
  });

  it('never turns model or tool text into markup', async () => {
    await ask('Remember that <img src=x onerror="window.__pwned=1"> [bad](javascript:window.__pwned=2) is not HTML');
    await expect.poll(() => lastAnswer().getAttribute('data-state'), POLL).toBe('done');
    await ask('search my notes for html');
    await expect.poll(() => lastAnswer().getAttribute('data-state'), POLL).toBe('done');
    const answer = lastAnswer().locator('.bubble');
    expect(await answer.textContent()).toContain('<img src=x onerror="window.__pwned=1">');
    expect(await page.locator('.messages img').count()).toBe(0);
    expect(await answer.locator('a').count()).toBe(0);

    const rendered = await page.evaluate(() => {
      const demoApi = (window as unknown as { mcpLlmchatDemo: { renderMarkdown(s: string): DocumentFragment } })
        .mcpLlmchatDemo;
      const box = document.createElement('div');
      box.append(
        demoApi.renderMarkdown(
          '# Title\n\n<script>document.title=3</script> **bold** _it_ `x<y`\n\n' +
            '- [ok](https://example.com/a) [no](javascript:alert(1)) [rel](/x)\n- two\n\n```js\n<b>1</b>\n```',
        ),
      );
      return {
        tags: [...box.querySelectorAll('*')].map((node) => node.tagName.toLowerCase()),
        hrefs: [...box.querySelectorAll('a')].map((a) => a.getAttribute('href')),
        code: box.querySelector('pre code')?.textContent,
        pwned: (window as unknown as { __pwned?: number }).__pwned,
      };
    });
    expect(rendered.tags).toEqual(['h3', 'p', 'strong', 'em', 'code', 'ul', 'li', 'a', 'li', 'pre', 'span', 'code']);
    expect(rendered.hrefs).toEqual(['https://example.com/a']);
    expect(rendered.code).toBe('<b>1</b>');
    expect(rendered.pwned).toBeUndefined();
    expect(pageErrors).toEqual([]);
  });

  it('fits a phone screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    try {
      const small = await phone.newPage();
      await small.goto(demo.url);
      await expect.poll(() => small.locator('#status').getAttribute('data-state'), POLL).toBe('connected');
      await small.locator('#input').fill('What is (3 + 4) * 2^3?');
      await small.locator('#input').press('Enter');
      const answer = small.locator('.msg.assistant').last();
      await expect.poll(() => answer.getAttribute('data-state'), POLL).toBe('done');
      expect(await answer.locator('.bubble').textContent()).toContain('56');
      // Nothing wider than the screen.
      expect(await small.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await small.screenshot({ path: new URL('demo-phone.png', ARTIFACTS).pathname });
    } finally {
      await phone.close();
    }
  });
});
