/**
 * Why hot paths copy with `copyWith` (src/internal/copy-with.ts) instead of a spread: what a copy
 * with one or two added properties costs, by how it is written, on the Node that runs this.
 * On Node 20 (V8 11.3), an object literal that starts with a non-empty spread and adds anything
 * after it (a property, another non-empty spread), or a spread copy that gains a property later,
 * takes a slow runtime path.
 *
 * Run: `npx tsx bench/object-copy.ts` (or `$(scripts/ensure-node.sh 24) --import tsx bench/object-copy.ts`).
 */
import { copyWith } from '../src/internal/copy-with.js';

const init = { method: 'POST', headers: { 'content-type': 'application/json' }, signal: null };
const extra = { body: 'x', duplex: 'half' };
const message = JSON.parse('{"role":"user","content":"hello"}') as Record<string, unknown>;
const ROUNDS = 5;
const CALLS = 200_000;

const cases: Array<[string, () => object]> = [
  ['spread, nothing added', () => ({ ...init })],
  ['spread + 1 property', () => ({ ...init, body: 'x' })],
  ['spread + 2 properties', () => ({ ...init, body: 'x', duplex: 'half' })],
  [
    'spread, then 1 property set',
    () => {
      const copy: Record<string, unknown> = { ...message };
      copy.at = 'now';
      return copy;
    },
  ],
  ['spread + a non-empty spread', () => ({ ...init, ...extra })],
  [
    'conditional spread first, then 2 properties',
    () => ({ ...(init.method ? { signal: init.signal } : {}), a: 1, b: 2 }),
  ],
  [
    '2 properties first, then the conditional spread',
    () => ({ a: 1, b: 2, ...(init.method ? { signal: init.signal } : {}) }),
  ],
  ['copyWith + 1 property', () => copyWith(init, { body: 'x' })],
  ['copyWith + 2 properties', () => copyWith(init, { body: 'x', duplex: 'half' })],
  [
    'Object.assign, then 1 property set',
    () => {
      const copy: Record<string, unknown> = Object.assign({}, message);
      copy.at = 'now';
      return copy;
    },
  ],
];

let sink = 0;
const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, make] of cases) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) sink += Object.keys(make()).length;
    const ns = Number(process.hrtime.bigint() - started) / CALLS;
    best.set(name, Math.min(best.get(name) ?? Number.POSITIVE_INFINITY, ns));
  }
}
console.log(`node ${process.version}: ns a copy (best of ${ROUNDS} rounds of ${CALLS})`);
for (const [name, ns] of best) console.log(`${ns.toFixed(0).padStart(6)}  ${name}`);
if (sink === 0) console.log('(unreachable)');
