/**
 * `npm run bench:transports`: what reading a provider's streamed answer costs the process that
 * reads it, by HTTP client: undici's `fetch` (web streams), `node:http`, undici's `request` (the
 * library's transport in the ninth round of issue 17), and the library's own transport (undici's
 * dispatcher with `DispatchedAnswer` as the handler, read a promise a read as the library reads it).
 *
 * A child process serves a Chat Completions stream of `--events` (default 20,000) SSE events, each
 * its own HTTP chunk as providers send them, as fast as the socket takes them. This process reads
 * it whole through each client in turn, interleaved over `--rounds` rounds (the first a warm-up),
 * and reports the median of its own CPU (user + system) a streamed event, the number of reads a
 * request took and the wall time. Only bytes are read: no SSE parsing, which is the same for all.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { postWithUndici } from '../src/llm/undici-post.js';
import { numberFlag } from './lib/flags.js';

const argv = process.argv.slice(2);
const events = numberFlag('--events', 20_000);
const rounds = numberFlag('--rounds', 7);
const REQUESTS_A_ROUND = 5;

/** The child: streams the events, each its own write (one HTTP chunk). */
function serve(): void {
  const frames = Array.from(
    { length: events },
    (_, i) => `data: {"choices":[{"index":0,"delta":{"content":"tok${i} "}}]}\n\n`,
  );
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const frame of frames) {
      if (!res.write(frame)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
}

type Client = (url: string) => Promise<number>;

const httpAgent = new HttpAgent({ keepAlive: true });
const undiciAgent = new UndiciAgent();

const clients: Record<string, Client> = {
  'fetch (web streams)': async (url) => {
    const response = await fetch(url, { method: 'POST', body: '{}' });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let reads = 0;
    while (!(await reader.read()).done) reads++;
    return reads;
  },
  'node:http': (url) =>
    new Promise((resolve, reject) => {
      const request = httpRequest(url, { method: 'POST', agent: httpAgent }, (response) => {
        let reads = 0;
        response.on('readable', () => {
          while (response.read() !== null) reads++;
        });
        response.on('end', () => resolve(reads));
      });
      request.on('error', reject);
      request.end('{}');
    }),
  "undici's request": async (url) => {
    const { body } = await undiciRequest(url, { method: 'POST', body: '{}', dispatcher: undiciAgent });
    let reads = 0;
    await new Promise<void>((resolve, reject) => {
      body.on('readable', () => {
        while (body.read() !== null) reads++;
      });
      body.on('end', resolve);
      body.on('error', reject);
    });
    return reads;
  },
  "the library's (undici dispatch)": async (url) => {
    const response = await postWithUndici(url, { headers: {}, body: '{}', signal: new AbortController().signal });
    const reader = response.body?.getReader();
    if (!reader) throw new Error('no body');
    let reads = 0;
    while (!(await reader.read()).done) reads++;
    return reads;
  },
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<void> {
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--serve', ...argv], {
    execArgv: process.execArgv,
  });
  const port = await new Promise<number>((resolve) => child.once('message', (message) => resolve(message as number)));
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  const results: Record<string, { cpu: number[]; reads: number[]; ms: number[] }> = {};
  try {
    for (let round = 0; round < rounds; round++) {
      const names = Object.keys(clients);
      // Each round in another order: none always runs right after the same one.
      const order = names.map((_, i) => names[(i + round) % names.length] as string);
      for (const name of order) {
        const read = clients[name] as Client;
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        let reads = 0;
        for (let i = 0; i < REQUESTS_A_ROUND; i++) reads += await read(url);
        const cpu = process.cpuUsage(cpuBefore);
        if (round === 0) continue;
        const entry = results[name] ?? { cpu: [], reads: [], ms: [] };
        results[name] = entry;
        entry.cpu.push((cpu.user + cpu.system) / (REQUESTS_A_ROUND * events));
        entry.reads.push(reads / REQUESTS_A_ROUND);
        entry.ms.push((performance.now() - started) / REQUESTS_A_ROUND);
      }
    }
  } finally {
    child.kill();
    httpAgent.destroy();
    await undiciAgent.close();
  }
  console.log(
    `node ${process.version}; ${events} SSE events a request, each its own HTTP chunk; medians of ${rounds - 1} rounds of ${REQUESTS_A_ROUND} requests\n`,
  );
  console.log('| client | reader CPU µs an event | reads a request | ms a request |');
  console.log('|---|---|---|---|');
  for (const [name, entry] of Object.entries(results)) {
    console.log(
      `| ${name} | ${median(entry.cpu).toFixed(2)} | ${median(entry.reads).toFixed(0)} | ${median(entry.ms).toFixed(0)} |`,
    );
  }
}

if (argv.includes('--serve')) serve();
else await main();
