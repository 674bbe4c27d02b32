import { readFileSync } from 'node:fs';

/** What one kind of heap object adds up to in a snapshot. */
export interface HeapGroup {
  count: number;
  bytes: number;
}

interface SnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

// V8's backing stores, named after the object that holds them: "(object properties)" alone
// says nothing about which objects grew them.
const BACKING_STORES = new Set(['(object properties)', '(object elements)', '']);

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
  const owners = backingStoreOwners(file, stride, typeNames);
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < file.nodes.length; i += stride) {
    const type = typeNames[file.nodes[i + typeAt] as number] ?? '?';
    const name = file.strings[file.nodes[i + nameAt] as number] ?? '?';
    const owner = owners.get(i);
    const key = owner === undefined ? groupKey(type, name) : `${name || '(array)'} of ${owner}`;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += file.nodes[i + sizeAt] as number;
    groups.set(key, group);
  }
  return groups;
}

/** For each backing store (by node offset), the name of the first object found holding it. */
function backingStoreOwners(file: SnapshotFile, stride: number, typeNames: string[]): Map<number, string> {
  const fields = file.snapshot.meta.node_fields;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const edgeCountAt = fields.indexOf('edge_count');
  const edgeStride = file.snapshot.meta.edge_fields.length;
  const toAt = file.snapshot.meta.edge_fields.indexOf('to_node');
  const owners = new Map<number, string>();
  let edge = 0;
  for (let i = 0; i < file.nodes.length; i += stride) {
    const count = file.nodes[i + edgeCountAt] as number;
    const ownerType = typeNames[file.nodes[i + typeAt] as number];
    const ownerName = file.strings[file.nodes[i + nameAt] as number] ?? '?';
    for (let e = 0; e < count; e++, edge += edgeStride) {
      if (ownerType !== 'object' && ownerType !== 'closure') continue;
      const to = file.edges[edge + toAt] as number;
      const toType = typeNames[file.nodes[to + typeAt] as number];
      const toName = file.strings[file.nodes[to + nameAt] as number] ?? '';
      if ((toType === 'array' || toType === 'hidden') && BACKING_STORES.has(toName) && !owners.has(to)) {
        owners.set(to, ownerName);
      }
    }
  }
  nameUnnamedOwners(file, stride, owners);
  return owners;
}

/**
 * A backing store's owner with no name (a null-prototype object: an emitter's `_events`, a
 * header map) is named by what holds it: `IncomingMessage._events`.
 */
function nameUnnamedOwners(file: SnapshotFile, stride: number, owners: Map<number, string>): void {
  const fields = file.snapshot.meta.node_fields;
  const nameAt = fields.indexOf('name');
  const edgeCountAt = fields.indexOf('edge_count');
  const edgeFields = file.snapshot.meta.edge_fields;
  const edgeStride = edgeFields.length;
  const toAt = edgeFields.indexOf('to_node');
  const edgeNameAt = edgeFields.indexOf('name_or_index');
  const edgeTypeAt = edgeFields.indexOf('type');
  const unnamed = new Map<number, number[]>();
  // Which stores each unnamed owner holds, found again by owner.
  let edge = 0;
  for (let i = 0; i < file.nodes.length; i += stride) {
    const count = file.nodes[i + edgeCountAt] as number;
    const ownerName = file.strings[file.nodes[i + nameAt] as number] ?? '';
    for (let e = 0; e < count; e++, edge += edgeStride) {
      if (ownerName !== '') continue;
      const to = file.edges[edge + toAt] as number;
      if (owners.get(to) === '') unnamed.set(i, [...(unnamed.get(i) ?? []), to]);
    }
  }
  if (unnamed.size === 0) return;
  edge = 0;
  const named = new Set<number>();
  for (let i = 0; i < file.nodes.length; i += stride) {
    const count = file.nodes[i + edgeCountAt] as number;
    const parentName = file.strings[file.nodes[i + nameAt] as number] ?? '?';
    for (let e = 0; e < count; e++, edge += edgeStride) {
      const to = file.edges[edge + toAt] as number;
      const stores = unnamed.get(to);
      if (!stores || named.has(to)) continue;
      // Property, internal and weak edges carry a name; element edges an index.
      const edgeType = edgeTypeAt >= 0 ? file.edges[edge + edgeTypeAt] : undefined;
      const rawName = file.edges[edge + edgeNameAt] as number;
      const edgeName = edgeType === 1 || edgeType === 4 ? `[${rawName}]` : (file.strings[rawName] ?? '?');
      if (edgeName === '__proto__' || edgeName === 'map') continue;
      named.add(to);
      for (const store of stores) owners.set(store, `${parentName}.${edgeName}`);
    }
  }
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
