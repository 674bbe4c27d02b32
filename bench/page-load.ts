/**
 * What a page load of the demo costs, measured in headless Chromium: the number of requests and
 * the bytes transferred by a cold and a warm (cached) load that restores a 50-turn conversation,
 * and the time to redraw that conversation (switching to it from another one in the list).
 * Prints figures; asserts nothing.
 *
 * Run: npx tsx bench/page-load.ts [turns] [rounds]
 */
import { chromium, type Page } from 'playwright-core';
import { startDemo } from '../demo/server.js';
import { fmt, summarize } from './lib/stats.js';

const TURNS = Number(process.argv[2] ?? 50);
const ROUNDS = Number(process.argv[3] ?? 7);
const USER = 'bench-page-load-user';
// Half the turns call a tool (a tool card each), half are plain text answers.
const PROMPTS = ['What is 12 * 7?', 'Hello, who are you?'];

const demo = await startDemo({ port: 0, env: {}, scriptedSpeed: 0 });
const api = new URL('/llmchat', demo.url).href;
const headers = { 'content-type': 'application/json', 'x-demo-user': USER };

async function post(path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${api}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

await post('/connect', {
  llm: { model: demo.models[0]?.id },
  server: { url: demo.mcpUrl, transport: 'streamable_http' },
});
const fillStarted = performance.now();
for (let turn = 0; turn < TURNS; turn++) {
  await post('/chat', { message: PROMPTS[turn % PROMPTS.length], conversation_id: 'long' });
}
await post('/chat', { message: 'Hello', conversation_id: 'short' });
const fillMs = performance.now() - fillStarted;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});

interface LoadFigures {
  requests: number;
  bytes: number;
  ms: number;
}

/** Loads the page on conversation `long`; counts requests and bytes until all turns are drawn. */
async function load(page: Page): Promise<LoadFigures> {
  const sizes: Promise<number>[] = [];
  const onFinished = (request: import('playwright-core').Request) => {
    sizes.push(request.sizes().then((size) => size.responseHeadersSize + size.responseBodySize));
  };
  page.on('requestfinished', onFinished);
  // A navigation away first: going to the same URL would only change the hash, not load.
  await page.goto('about:blank');
  const started = performance.now();
  await page.goto(`${demo.url}#c=long`);
  await page.waitForFunction((turns) => document.querySelectorAll('.msg.assistant').length === turns, TURNS, {
    polling: 'raf',
  });
  const ms = performance.now() - started;
  // Requests still in flight (none expected) are counted too.
  await page.waitForLoadState('networkidle');
  page.off('requestfinished', onFinished);
  const bytes = (await Promise.all(sizes)).reduce((sum, size) => sum + size, 0);
  return { requests: sizes.length, bytes, ms };
}

/** In the page: from a click on the long conversation to its last turn drawn. */
async function redraw(page: Page): Promise<number> {
  await page.locator('#conversation-list .conversation[data-id="short"] .conversation-open').click();
  await page.waitForFunction(() => document.querySelectorAll('.msg.assistant').length === 1, undefined, {
    polling: 'raf',
  });
  // A string, not a function: tsx would wrap named inner functions in a helper the page lacks.
  return page.evaluate(`(async () => {
    const started = performance.now();
    document.querySelector('.conversation[data-id="long"] .conversation-open').click();
    await new Promise((resolve) => {
      const check = () =>
        document.querySelectorAll('.msg.assistant').length === ${TURNS} ? resolve() : requestAnimationFrame(check);
      check();
    });
    // One more frame: the redraw is painted.
    await new Promise((resolve) => requestAnimationFrame(resolve));
    return performance.now() - started;
  })()`) as Promise<number>;
}

const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
await context.addInitScript((user) => localStorage.setItem('mcp-llmchat-demo-user', user), USER);
const coldPage = await context.newPage();
const cold = await load(coldPage);
const warm: LoadFigures[] = [];
for (let round = 0; round < ROUNDS; round++) warm.push(await load(coldPage));
const redraws: number[] = [];
for (let round = 0; round < ROUNDS + 2; round++) redraws.push(await redraw(coldPage));
const fetchMs: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  fetchMs.push(
    (await coldPage.evaluate(`(async () => {
      const started = performance.now();
      const response = await fetch('/llmchat/history/${USER}?conversation_id=long&limit=100', { headers: { 'x-demo-user': '${USER}' } });
      await response.json();
      return performance.now() - started;
    })()`)) as number,
  );
}
const historyBytes = (await (await fetch(`${api}/history/${USER}?conversation_id=long&limit=100`, { headers })).text())
  .length;

await browser.close();
await demo.close();

const warmSummary = summarize(warm.map((figures) => figures.ms));
const redrawSummary = summarize(redraws.slice(2));
console.log(`Page load of the demo restoring a ${TURNS}-turn conversation (Chromium, headless, localhost)`);
console.log(`  filled the conversation through the API in ${fmt(fillMs / 1000, 1)} s`);
console.log(
  `  cold load : ${cold.requests} requests, ${fmt(cold.bytes / 1024, 1)} KiB, ${fmt(cold.ms, 0)} ms to the last turn drawn`,
);
console.log(
  `  warm load : ${warm[0]?.requests} requests, ${fmt((warm[0]?.bytes ?? 0) / 1024, 1)} KiB, median ${fmt(warmSummary.median, 0)} ms (n=${warmSummary.n})`,
);
console.log(`  GET /history of the ${TURNS} turns: ${fmt(historyBytes / 1024, 1)} KiB of JSON`);
console.log(`  of which GET /history + JSON parse in the page: median ${fmt(summarize(fetchMs).median, 1)} ms`);
console.log(
  `  redraw of the ${TURNS} turns (switch from another conversation, fetch + draw): median ${fmt(redrawSummary.median, 1)} ms, p99 ${fmt(redrawSummary.p99, 1)} ms (n=${redrawSummary.n})`,
);
