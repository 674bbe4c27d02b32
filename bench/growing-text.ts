/**
 * Why a streamed answer is built with `GrowingText` (src/internal/growing-text.ts) and not `+=`:
 * the heap an answer being built holds, and an append's time, for answers of 50 to 10,000
 * tokens of about five characters, on the Node that runs this. V8 keeps `a + b` as a node over
 * both parts, so `+=` builds a tree of one node and one small string a token.
 *
 * 500 answers grow side by side, a token each in turn (as 500 open streams do), two copies of
 * each (the chat loop's and the running turn's, which share the tokens), and the heap is
 * measured after a full collection.
 *
 * Then what each token's stored event weighs in a memory turn log (`CompactLog`, kept minutes after
 * its turn ended): 500 logs of token events written the way `TurnLog` writes them, while the
 * turn streams and once its final event is stored (a run of tokens is packed when it is over).
 *
 * Run: `npx tsx bench/growing-text.ts` (or `$(scripts/ensure-node.sh 24) --import tsx bench/growing-text.ts`).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GrowingText } from '../src/internal/growing-text.js';
import { CompactLog } from '../src/turns/compact-log.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ANSWERS = 500;
const LENGTHS = [50, 1_000, 10_000];

interface Builder {
  append(token: string): void;
}

function plain(): Builder & { text: string } {
  const builder = {
    text: '',
    append(token: string) {
      builder.text += token;
    },
  };
  return builder;
}

function measure(make: () => Builder, tokens: number): { kbAnAnswer: number; usAnAppend: number } {
  gc();
  const before = process.memoryUsage().heapUsed;
  const builders = Array.from({ length: ANSWERS * 2 }, make);
  const started = performance.now();
  for (let t = 0; t < tokens; t++) {
    for (let a = 0; a < ANSWERS; a++) {
      // A fresh string each token, as a parser makes it.
      const token = `w${t % 1000}:${a % 10} `.slice(0);
      (builders[2 * a] as Builder).append(token);
      (builders[2 * a + 1] as Builder).append(token);
    }
  }
  const elapsed = performance.now() - started;
  gc();
  const kbAnAnswer = (process.memoryUsage().heapUsed - before) / ANSWERS / 1024;
  // Kept alive to the measurement.
  if (builders.length !== ANSWERS * 2) throw new Error('unreachable');
  return { kbAnAnswer, usAnAppend: (elapsed * 1000) / (tokens * ANSWERS * 2) };
}

console.log(`node ${process.version}; ${ANSWERS} answers, two copies each, tokens of about 7 characters\n`);
console.log(
  '| tokens | text | `+=`: KB an answer (both copies) | µs an append | `GrowingText`: KB an answer | µs an append |',
);
console.log('|---|---|---|---|---|---|');
for (const tokens of LENGTHS) {
  const concat = measure(plain, tokens);
  const growing = measure(() => new GrowingText(), tokens);
  const chars = tokens * 7;
  console.log(
    `| ${tokens} | ${(chars / 1024).toFixed(1)} KB | ${concat.kbAnAnswer.toFixed(1)} | ${concat.usAnAppend.toFixed(3)} | ${growing.kbAnAnswer.toFixed(1)} | ${growing.usAnAppend.toFixed(3)} |`,
  );
}

/**
 * Bytes of heap a stored token event, over `ANSWERS` logs of `tokens` token events each: while
 * the turn streams, or once it ended (its final event stored after the tokens).
 */
function logBytesAToken(tokens: number, ended: boolean): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const logs = Array.from({ length: ANSWERS }, () => new CompactLog());
  for (let t = 1; t <= tokens; t++) {
    for (const log of logs) log.push(t, JSON.stringify({ e: 'token', d: { content: ` w${t % 1000}` } }));
  }
  if (ended) for (const log of logs) log.push(tokens + 1, '{"e":"final","d":{}}');
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / (ANSWERS * tokens);
  if (logs.length !== ANSWERS) throw new Error('unreachable');
  return bytes;
}

console.log('\n| tokens | memory turn log, bytes a stored token event: while the turn streams | once it ended |');
console.log('|---|---|---|');
for (const tokens of LENGTHS) {
  console.log(
    `| ${tokens} | ${logBytesAToken(tokens, false).toFixed(1)} | ${logBytesAToken(tokens, true).toFixed(1)} |`,
  );
}
