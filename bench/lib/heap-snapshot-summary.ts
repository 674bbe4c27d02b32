import { readSnapshot, type Snapshot } from './heap-snapshot.js';

/** What one kind of heap object adds up to in a snapshot. */
export interface HeapGroup {
  count: number;
  bytes: number;
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
  const snapshot = readSnapshot(path);
  const owners = backingStoreOwners(snapshot);
  const groups = new Map<string, HeapGroup>();
  snapshot.forEachNode((node) => {
    const name = snapshot.name(node);
    const owner = owners.get(node);
    const key = owner === undefined ? groupKey(snapshot.type(node), name) : `${name || '(array)'} of ${owner}`;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += snapshot.size(node);
    groups.set(key, group);
  });
  return groups;
}

/** For each backing store (by node), the name of the first object found holding it. */
function backingStoreOwners(snapshot: Snapshot): Map<number, string> {
  const owners = new Map<number, string>();
  snapshot.forEachEdge((from, to) => {
    const fromType = snapshot.type(from);
    if ((fromType !== 'object' && fromType !== 'closure') || owners.has(to)) return;
    const toType = snapshot.type(to);
    if ((toType === 'array' || toType === 'hidden') && BACKING_STORES.has(snapshot.name(to))) {
      owners.set(to, snapshot.name(from));
    }
  });
  nameUnnamedOwners(snapshot, owners);
  return owners;
}

/**
 * A backing store's owner with no name (a null-prototype object: an emitter's `_events`, a
 * header map) is named by what holds it: `IncomingMessage._events`.
 */
function nameUnnamedOwners(snapshot: Snapshot, owners: Map<number, string>): void {
  // Which stores each unnamed owner holds.
  const unnamed = new Map<number, number[]>();
  snapshot.forEachEdge((from, to) => {
    if (owners.get(to) !== '' || snapshot.name(from) !== '') return;
    const stores = unnamed.get(from);
    if (stores) stores.push(to);
    else unnamed.set(from, [to]);
  });
  if (unnamed.size === 0) return;
  const named = new Set<number>();
  snapshot.forEachEdge((from, to, edgeName) => {
    const stores = unnamed.get(to);
    if (!stores || named.has(to)) return;
    const name = edgeName();
    if (name === '__proto__' || name === 'map') return;
    named.add(to);
    for (const store of stores) owners.set(store, `${snapshot.name(from) || '?'}.${name}`);
  });
}

/** The group an object of `type` named `name` counts under (see {@link summarizeHeapSnapshot}). */
export function groupKey(type: string, name: string): string {
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
