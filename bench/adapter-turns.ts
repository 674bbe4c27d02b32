/**
 * How long a full connect + streamed chat with one tool call takes through each host adapter,
 * over real sockets against the fake OpenAI-compatible provider and a real MCP server.
 *
 * Run: npx tsx bench/adapter-turns.ts [rounds]
 */
import { HOSTS, MOUNT } from '../test/adapters/hosts.js';
import { startStack } from '../test/http/stack.js';
import { fmt, summarize } from './lib/stats.js';

const rounds = Number(process.argv[2] ?? 30);
const stack = await startStack();
const names = ['express 5', 'express 4', 'fastify 5', 'koa 3', 'koa 2', 'node:http bridge'];
const hosts = HOSTS.filter((host) => names.includes(host.name));
const running = await Promise.all(hosts.map((host) => host.start(stack.handler)));

async function post(url: string, user: string, body: unknown): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer user:${user}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${text}`);
  return text;
}

const samples: number[][] = hosts.map(() => []);
for (let round = 0; round < rounds + 3; round++) {
  for (const [index, host] of running.entries()) {
    const base = `${host.origin}${MOUNT}`;
    const user = `adapter-${index}-${round}`;
    const started = performance.now();
    await post(`${base}/connect`, user, { llm: { model: 'fake' } });
    const stream = await post(`${base}/chat`, user, { message: 'please add 2 and 3', streaming: true });
    const elapsed = performance.now() - started;
    if (!stream.includes('event: tool_end') || !stream.includes('event: final')) throw new Error('incomplete turn');
    // The first rounds warm up connections and JIT.
    if (round >= 3) samples[index]?.push(elapsed);
  }
}

console.log(`connect + streamed chat with one tool call, ${rounds} rounds each (ms)`);
console.log('| host | median | p99 |');
console.log('| --- | --- | --- |');
hosts.forEach((host, index) => {
  const summary = summarize(samples[index] ?? []);
  console.log(`| ${host.name} | ${fmt(summary.median)} | ${fmt(summary.p99)} |`);
});
await Promise.all(running.map((host) => host.close()));
await stack.close();
