import { readFileSync } from 'node:fs';

/** What one kind of heap object adds up to in a snapshot. */
export interface HeapGroup {
  count: number;
  bytes: number;
}

interface SnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/**
 * Groups a V8 heap snapshot's objects by kind: an object by its constructor's name, a closure by
 * its function's, strings and V8's internal arrays and code each as one group. Self sizes, not
 * retained ones: comparing two snapshots (before a wave and while it streams) shows what each
 * open stream added, object by object, without a dominator tree.
 */
export function summarizeHeapSnapshot(path: string): Map<string, HeapGroup> {
  const file = JSON.parse(readFileSync(path, 'utf8')) as SnapshotFile;
  const fields = file.snapshot.meta.node_fields;
  const typeNames = file.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < file.nodes.length; i += stride) {
    const type = typeNames[file.nodes[i + typeAt] as number] ?? '?';
    const name = file.strings[file.nodes[i + nameAt] as number] ?? '?';
    const key = groupKey(type, name);
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += file.nodes[i + sizeAt] as number;
    groups.set(key, group);
  }
  return groups;
}

function groupKey(type: string, name: string): string {
  if (type === 'object' || type === 'closure' || type === 'native') return `${name} (${type})`;
  if (type === 'hidden' || type === 'array' || type === 'object shape') {
    return `${name.length > 40 ? `${name.slice(0, 40)}…` : name} (${type})`;
  }
  // Strings, numbers, code, regexps, symbols: one group a type (a string's name is its text).
  return `(${type})`;
}

/** `during` less `before`, each group divided by `per` (the open streams), largest first. */
export function heapGrowth(
  before: Map<string, HeapGroup>,
  during: Map<string, HeapGroup>,
  per: number,
): Array<[string, HeapGroup]> {
  const growth: Array<[string, HeapGroup]> = [];
  for (const [key, group] of during) {
    const earlier = before.get(key) ?? { count: 0, bytes: 0 };
    growth.push([key, { count: (group.count - earlier.count) / per, bytes: (group.bytes - earlier.bytes) / per }]);
  }
  return growth.sort((a, b) => b[1].bytes - a[1].bytes);
}
