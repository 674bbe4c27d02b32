/**
 * `npm run bench:providers`: what each provider adapter costs over reading its fake's stream by
 * hand, one row per provider of test/fixtures/providers.ts (so a new provider gets its row from
 * its table entry).
 *
 * - first token: from the call to the first `text` event, against a raw `fetch` of the same
 *   (already signed) request to the first body byte;
 * - relay: draining a long answer (many small chunks), events parsed and normalized, against a
 *   raw `fetch` that only reads the bytes.
 *
 * The raw side stops at the first body chunk, while the adapter waits for the first text, which
 * some formats send a frame or two later (Bedrock's `messageStart`, Anthropic's `message_start`
 * and `ping`): read the first-token overhead as an upper bound. SigV4 signing alone measured
 * about 0.75 ms (median) on the 2-core dev machine.
 *
 * Each pair is interleaved (adapter, raw, adapter, raw, …) in one process against one fake, so
 * machine noise hits both alike. Flags: `--quick` (fewer rounds).
 */
import { ModelRegistry } from '../src/llm/model-registry.js';
import type { FakeReply } from '../test/fixtures/fake-llm-common.js';
import { PROVIDERS } from '../test/fixtures/providers.js';
import { summarize } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 20 : 150;
const RELAY_CHUNKS = quick ? 500 : 2_000;

interface Row {
  provider: string;
  firstTokenMs: number;
  rawFirstByteMs: number;
  relayMs: number;
  rawRelayMs: number;
}

async function measure(entry: (typeof PROVIDERS)[number]): Promise<Row> {
  let reply: FakeReply = { kind: 'text', chunks: ['Hello', ' there.'] };
  const fake = await entry.start(() => reply);
  try {
    const registry = new ModelRegistry([entry.model(fake, { id: 'bench' })]);
    const provider = registry.createProvider('bench', { maxRetries: 0 });
    const model = registry.get('bench').model;
    const request = { model, messages: [{ role: 'user' as const, content: 'Hi' }] };

    // One call to capture the exact request (signature included) the raw baseline replays.
    for await (const _event of provider.stream(request)) {
      // drain
    }
    const sent = fake.requests.at(-1);
    if (!sent) throw new Error(`${entry.id}: no request reached the fake`);
    const headers = Object.fromEntries(
      Object.entries(sent.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name)),
    ) as Record<string, string>;
    const raw = () => fetch(`${fake.origin}${sent.path}`, { method: 'POST', headers, body: sent.rawBody });

    const firstToken: number[] = [];
    const rawFirst: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let started = performance.now();
      for await (const event of provider.stream(request)) {
        if (event.type === 'text') {
          firstToken.push(performance.now() - started);
          break;
        }
      }
      started = performance.now();
      const response = await raw();
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      rawFirst.push(performance.now() - started);
      await reader.cancel();
    }

    reply = { kind: 'text', chunks: Array.from({ length: RELAY_CHUNKS }, (_, i) => `t${i} `) };
    const relay: number[] = [];
    const rawRelay: number[] = [];
    for (let i = 0; i < Math.max(3, ROUNDS / 15); i++) {
      let started = performance.now();
      for await (const _event of provider.stream(request)) {
        // drain
      }
      relay.push(performance.now() - started);
      started = performance.now();
      const response = await raw();
      await response.arrayBuffer();
      rawRelay.push(performance.now() - started);
    }
    return {
      provider: entry.name ?? entry.id,
      firstTokenMs: summarize(firstToken).median,
      rawFirstByteMs: summarize(rawFirst).median,
      relayMs: summarize(relay).median,
      rawRelayMs: summarize(rawRelay).median,
    };
  } finally {
    await fake.close();
  }
}

const rows: Row[] = [];
for (const entry of PROVIDERS) rows.push(await measure(entry));
const f = (ms: number) => ms.toFixed(2);
console.log(`node ${process.version}; ${ROUNDS} first-token rounds, relay of ${RELAY_CHUNKS} chunks (medians, ms)\n`);
console.log('| provider | first token | raw first byte | overhead | relay | raw relay | relay ratio |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(
    `| ${row.provider} | ${f(row.firstTokenMs)} | ${f(row.rawFirstByteMs)} | ${f(row.firstTokenMs - row.rawFirstByteMs)} | ${f(row.relayMs)} | ${f(row.rawRelayMs)} | ${(row.relayMs / row.rawRelayMs).toFixed(2)}x |`,
  );
}
