import { readFileSync } from 'node:fs';

/** What one kind of heap object adds up to in a snapshot. */
export interface HeapGroup {
  count: number;
  bytes: number;
}

interface SnapshotFile {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

// V8's backing stores, named after the object that holds them: "(object properties)" alone
// says nothing about which objects grew them.
const BACKING_STORES = new Set(['(object properties)', '(object elements)', '']);

/** A parsed snapshot read node by node (a node is its offset in `nodes`) and edge by edge. */
class Snapshot {
  readonly #file: SnapshotFile;
  readonly #nodeStride: number;
  readonly #typeAt: number;
  readonly #nameAt: number;
  readonly #sizeAt: number;
  readonly #edgeCountAt: number;
  readonly #edgeStride: number;
  readonly #edgeTypeAt: number;
  readonly #edgeNameAt: number;
  readonly #toAt: number;
  /** Edge types whose `name_or_index` is an index, not a string. */
  readonly #indexEdgeTypes: Set<number>;

  constructor(file: SnapshotFile) {
    const { node_fields: nodeFields, edge_fields: edgeFields, edge_types: edgeTypes } = file.snapshot.meta;
    this.#file = file;
    this.#nodeStride = nodeFields.length;
    this.#typeAt = nodeFields.indexOf('type');
    this.#nameAt = nodeFields.indexOf('name');
    this.#sizeAt = nodeFields.indexOf('self_size');
    this.#edgeCountAt = nodeFields.indexOf('edge_count');
    this.#edgeStride = edgeFields.length;
    this.#edgeTypeAt = edgeFields.indexOf('type');
    this.#edgeNameAt = edgeFields.indexOf('name_or_index');
    this.#toAt = edgeFields.indexOf('to_node');
    this.#indexEdgeTypes = new Set(
      edgeTypes[0].flatMap((type, index) => (type === 'element' || type === 'hidden' ? [index] : [])),
    );
  }

  /** Calls `visit` with every node's offset. */
  forEachNode(visit: (node: number) => void): void {
    for (let node = 0; node < this.#file.nodes.length; node += this.#nodeStride) visit(node);
  }

  /** Calls `visit` with every edge: its holder, its target and its name (`[i]` for an index). */
  forEachEdge(visit: (from: number, to: number, name: () => string) => void): void {
    const { nodes, edges, strings } = this.#file;
    let edge = 0;
    for (let from = 0; from < nodes.length; from += this.#nodeStride) {
      const count = nodes[from + this.#edgeCountAt] as number;
      for (let e = 0; e < count; e++, edge += this.#edgeStride) {
        const at = edge;
        const name = () => {
          const raw = edges[at + this.#edgeNameAt] as number;
          return this.#indexEdgeTypes.has(edges[at + this.#edgeTypeAt] as number) ? `[${raw}]` : (strings[raw] ?? '?');
        };
        visit(from, edges[at + this.#toAt] as number, name);
      }
    }
  }

  type(node: number): string {
    return this.#file.snapshot.meta.node_types[0][this.#file.nodes[node + this.#typeAt] as number] ?? '?';
  }

  name(node: number): string {
    return this.#file.strings[this.#file.nodes[node + this.#nameAt] as number] ?? '';
  }

  size(node: number): number {
    return this.#file.nodes[node + this.#sizeAt] as number;
  }
}

/**
 * Groups a V8 heap snapshot's objects by kind: an object by its constructor's name, a closure by
 * its function's, strings and V8's internal arrays and code each as one group. Self sizes, not
 * retained ones: comparing two snapshots (before a wave and while it streams) shows what each
 * open stream added, object by object, without a dominator tree.
 */
export function summarizeHeapSnapshot(path: string): Map<string, HeapGroup> {
  const snapshot = new Snapshot(JSON.parse(readFileSync(path, 'utf8')) as SnapshotFile);
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
