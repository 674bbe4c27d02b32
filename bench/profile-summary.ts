/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`, or `npm run bench -- --profile`): the
 * functions with the most self time, and the same grouped by package / source folder.
 *
 * Usage: `npx tsx bench/profile-summary.ts <file.cpuprofile> [top=30]`
 */
import { readFileSync } from 'node:fs';
import { frameName, frameOrigin } from './lib/frame-origin.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i] as number;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const totalUs = profile.endTime - profile.startTime;

const functions = new Map<string, number>();
const origins = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  const key = frameName(node.callFrame);
  functions.set(key, (functions.get(key) ?? 0) + us);
  const where = frameOrigin(node.callFrame.url);
  origins.set(where, (origins.get(where) ?? 0) + us);
}

const print = (title: string, map: Map<string, number>, count: number) => {
  console.log(`\n${title}`);
  const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  for (const [name, us] of rows) {
    console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${name}`);
  }
};
// Inclusive ("total") time: a sample counts for every distinct function on its stack.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const keyOf = (node: ProfileNode) => frameName(node.callFrame);
const inclusive = new Map<string, number>();
const stackCache = new Map<number, string[]>();
const stackOf = (id: number): string[] => {
  const cached = stackCache.get(id);
  if (cached) return cached;
  const keys = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const node = byId.get(at);
    if (node && focus.test(node.callFrame.url)) keys.add(keyOf(node));
  }
  const list = [...keys];
  stackCache.set(id, list);
  return list;
};
const focus = new RegExp(process.env.FOCUS ?? '/src/');
for (let i = 0; i < profile.samples.length; i++) {
  for (const key of stackOf(profile.samples[i] as number)) {
    inclusive.set(key, (inclusive.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
}
console.log(`${file}: ${(totalUs / 1e6).toFixed(1)} s profiled`);
print(`Top ${top} functions by self time`, functions, top);
print('Self time by origin', origins, 25);
print(`Inclusive time of functions whose file matches ${focus} (env FOCUS to change)`, inclusive, top);
