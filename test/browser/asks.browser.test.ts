import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../demo/server.js';
import { artifact, chromiumAvailable, launchChromium, POLL } from './chromium.js';

const hasChromium = chromiumAvailable('the approval and elicitation browser test');

// CONTRACT §7 on the demo page: approval cards for notes_delete (the demo's toolApproval rule)
// and a form for distance_in_my_units (an MCP elicitation), answered with real clicks.
describe.skipIf(!hasChromium)('demo page: approval and elicitation cards in headless Chromium', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    demo = await startDemo({ port: 0, env: {}, scriptedSpeed: 0 });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
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
  async function answered(): Promise<string> {
    await expect.poll(() => lastAnswer().getAttribute('data-state'), POLL).toBe('done');
    return (await lastAnswer().locator('.bubble').textContent()) ?? '';
  }

  it('asks before deleting a note: Deny keeps it, Approve deletes it', async () => {
    await page.goto(demo.url);
    await expect.poll(() => page.locator('#status').getAttribute('data-state'), POLL).toBe('connected');
    await ask('delete note 2');
    const card = lastAnswer().locator('.ask-card.approval');
    await expect.poll(() => card.getAttribute('data-state'), POLL).toBe('pending');
    expect(await card.getAttribute('data-tool')).toBe('notes_delete');
    expect(await card.locator('.ask-title').textContent()).toBe('Allow notes_delete?');
    expect(await card.locator('.ask-input').textContent()).toContain('"id": 2');
    expect(await card.locator('.ask-warning').textContent()).toContain('can delete');
    await page.screenshot({ path: artifact('approval-card.png') });
    await card.getByRole('button', { name: 'Deny' }).click();
    await expect.poll(() => card.getAttribute('data-state'), POLL).toBe('answered');
    expect(await card.locator('.ask-status').textContent()).toBe('Denied');
    expect(await answered()).toContain('The notes_delete tool reported a problem: The user denied this tool call');

    await ask('delete note 2');
    const second = lastAnswer().locator('.ask-card.approval');
    await second.getByRole('button', { name: 'Approve' }).click();
    expect(await answered()).toContain('Done: note #2 is deleted.');
    expect(await second.getAttribute('data-answer')).toBe('approve');

    // The note is gone: deleting it again fails in the tool itself.
    await ask('delete note 2');
    await lastAnswer().locator('.ask-card.approval').getByRole('button', { name: 'Approve' }).click();
    expect(await answered()).toContain('There is no note #2.');
  });

  it('"Allow for this conversation" stops asking for that tool in this conversation', async () => {
    await ask('delete note 3');
    const card = lastAnswer().locator('.ask-card.approval');
    await card.getByRole('button', { name: 'Allow for this conversation' }).click();
    expect(await answered()).toContain('Done: note #3 is deleted.');
    expect(await card.locator('.ask-status').textContent()).toBe('Allowed for this conversation');

    await ask('delete note 4');
    expect(await answered()).toContain('Done: note #4 is deleted.');
    expect(await lastAnswer().locator('.ask-card').count()).toBe(0);
  });

  it('shows the server’s form; a value the form refuses is named, a corrected answer goes through', async () => {
    await ask('show 42 km in my units');
    const card = lastAnswer().locator('.ask-card.elicitation');
    await expect.poll(() => card.getAttribute('data-state'), POLL).toBe('pending');
    expect(await card.locator('.ask-message').textContent()).toBe('Which unit system should I use to show 42 km?');
    const system = card.getByLabel('Unit system *');
    expect(await system.locator('option').allTextContents()).toEqual(['metric', 'imperial']);
    expect(await system.inputValue()).toBe('metric');
    const decimals = card.getByLabel('Decimals');
    expect(await decimals.inputValue()).toBe('1');
    await page.screenshot({ path: artifact('elicitation-card.png') });

    await system.selectOption('imperial');
    await decimals.fill('9');
    await card.getByRole('button', { name: 'Accept' }).click();
    await expect
      .poll(() => card.locator('.ask-status').textContent(), POLL)
      .toBe('content.decimals: must be at most 4');
    expect(await card.getAttribute('data-state')).toBe('pending');
    expect(await decimals.getAttribute('aria-invalid')).toBe('true');

    await decimals.fill('2');
    await card.getByRole('button', { name: 'Accept' }).click();
    expect(await answered()).toContain('42 km is 26.10 mi (imperial, as you chose).');
    expect(await card.locator('.ask-status').textContent()).toBe('Sent');
  });

  it('Decline and Cancel reach the server, and an empty accept uses the form’s defaults', async () => {
    await ask('show 10 km in my units');
    await lastAnswer().locator('.ask-card.elicitation').getByRole('button', { name: 'Decline' }).click();
    expect(await answered()).toContain('The user did not choose a unit system (decline).');

    await ask('show 10 km in my units');
    await lastAnswer().locator('.ask-card.elicitation').getByRole('button', { name: 'Cancel' }).click();
    expect(await answered()).toContain('(cancel)');

    await ask('show 5 km in my units');
    const card = lastAnswer().locator('.ask-card.elicitation');
    // Clearing the optional field sends nothing for it: the server's default (1 decimal) applies.
    await card.getByLabel('Decimals').fill('');
    await card.getByRole('button', { name: 'Accept' }).click();
    expect(await answered()).toContain('5 km is 5.0 km (metric, as you chose).');
    expect(pageErrors).toEqual([]);
  });
});
