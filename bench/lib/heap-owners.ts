/**
 * What the objects a wave added to the heap belong to: each new object's bytes counted under its
 * owner, the outermost new object that keeps it alive alone (its dominator in the heap graph,
 * Cooper, Harvey and Kennedy's "A Simple, Fast Dominance Algorithm").
 *
 * Grouping by kind (`summarizeHeapSnapshot`) says that an open stream holds 50 closure contexts;
 * this says that 8 KB of them hang off the pending read of the provider's answer (the suspended
 * chain of async functions waiting on it), 4 KB off the web stream reader of the response, and so
 * on: which object to make smaller, or let go sooner.
 */
import { readSnapshot, type Snapshot } from './heap-snapshot.js';
import { groupKey, type HeapGroup } from './heap-snapshot-summary.js';

/** The objects a snapshot holds that were not there before, each with its owner. */
export interface NewObjects {
  snapshot: Snapshot;
  /** Node indexes of the reachable objects, dominators first. */
  order: Int32Array;
  /** By node index: the owner's node index, or -1 for an object that was there before. */
  owner: Int32Array;
}

/**
 * The new objects of the `during` snapshot (object ids not in `before`; both from one process),
 * each with its owner. Read once, then grouped by {@link ownersOf} and {@link ownedBy}.
 */
export function readNewObjects(beforePath: string, duringPath: string): NewObjects {
  const known = new Set<number>();
  const before = readSnapshot(beforePath);
  before.forEachNode((node) => known.add(before.id(node)));
  return newObjects(readSnapshot(duringPath), known);
}

/** {@link readNewObjects} on a parsed snapshot, `known` holding the ids of the objects that were there before. */
export function newObjects(snapshot: Snapshot, known: ReadonlySet<number>): NewObjects {
  const stride = snapshot.nodeStride;
  const { of: idom, order } = dominators(snapshot);
  // Each new object's owner: itself when its dominator is old (or the root), else its
  // dominator's owner. Dominators come before what they dominate in `order`.
  const owner = new Int32Array(idom.length).fill(-1);
  for (const index of order) {
    if (known.has(snapshot.id(index * stride))) continue;
    const dominator = idom[index] as number;
    owner[index] = dominator !== 0 && owner[dominator] !== -1 ? (owner[dominator] as number) : index;
  }
  return { snapshot, order, owner };
}

/**
 * The new objects grouped by owner: `count` is how many owners of that kind, `bytes` the self
 * sizes of everything each owns, both divided by `per` (the open streams). Largest first.
 */
export function ownersOf(objects: NewObjects, per: number): Array<[string, HeapGroup]> {
  const { snapshot, order, owner } = objects;
  const groups = new Map<string, HeapGroup>();
  for (const index of order) {
    const own = owner[index] as number;
    if (own === -1) continue;
    const group = entry(groups, keyOf(snapshot, own));
    if (own === index) group.count++;
    group.bytes += snapshot.size(index * snapshot.nodeStride);
  }
  return perStream(groups, per);
}

/**
 * What the new objects owned by owners of one kind (`ownerKey`, as {@link ownersOf} names it:
 * `DispatchedAnswer (object)`) are, grouped by kind (self sizes), divided by `per`: what to cut
 * inside an owner that holds too much.
 */
export function ownedBy(objects: NewObjects, ownerKey: string, per: number): Array<[string, HeapGroup]> {
  const { snapshot, order, owner } = objects;
  const groups = new Map<string, HeapGroup>();
  for (const index of order) {
    const own = owner[index] as number;
    if (own === -1 || keyOf(snapshot, own) !== ownerKey) continue;
    const group = entry(groups, keyOf(snapshot, index));
    group.count++;
    group.bytes += snapshot.size(index * snapshot.nodeStride);
  }
  return perStream(groups, per);
}

function keyOf(snapshot: Snapshot, index: number): string {
  const node = index * snapshot.nodeStride;
  return groupKey(snapshot.type(node), snapshot.name(node));
}

function entry(groups: Map<string, HeapGroup>, key: string): HeapGroup {
  let group = groups.get(key);
  if (group === undefined) {
    group = { count: 0, bytes: 0 };
    groups.set(key, group);
  }
  return group;
}

function perStream(groups: Map<string, HeapGroup>, per: number): Array<[string, HeapGroup]> {
  return [...groups]
    .map(([key, group]): [string, HeapGroup] => [key, { count: group.count / per, bytes: group.bytes / per }])
    .sort((a, b) => b[1].bytes - a[1].bytes);
}

/** Immediate dominators by node index (the root, index 0, is its own), and the reachable nodes in reverse postorder. */
function dominators(snapshot: Snapshot): { of: Int32Array; order: Int32Array } {
  const count = snapshot.nodeCount;
  const stride = snapshot.nodeStride;
  // Strong edges only, as arrays of successors and of predecessors (CSR form).
  const outCount = new Int32Array(count + 1);
  const inCount = new Int32Array(count + 1);
  snapshot.forEachEdge((from, to, _name, weak) => {
    if (weak) return;
    const out = from / stride + 1;
    const into = to / stride + 1;
    outCount[out] = (outCount[out] as number) + 1;
    inCount[into] = (inCount[into] as number) + 1;
  });
  for (let i = 0; i < count; i++) {
    outCount[i + 1] = (outCount[i + 1] as number) + (outCount[i] as number);
    inCount[i + 1] = (inCount[i + 1] as number) + (inCount[i] as number);
  }
  const succ = new Int32Array(outCount[count] as number);
  const pred = new Int32Array(inCount[count] as number);
  const outFill = outCount.slice(0, count);
  const inFill = inCount.slice(0, count);
  snapshot.forEachEdge((from, to, _name, weak) => {
    if (weak) return;
    const f = from / stride;
    const t = to / stride;
    succ[(outFill[f] as number)++] = t;
    pred[(inFill[t] as number)++] = f;
  });

  // Postorder numbers from an iterative depth-first walk from the root.
  const post = new Int32Array(count).fill(-1);
  const byPost: number[] = [];
  const visited = new Uint8Array(count);
  const stack = [0];
  const next = new Int32Array(count);
  next[0] = outCount[0] as number;
  visited[0] = 1;
  while (stack.length > 0) {
    const node = stack[stack.length - 1] as number;
    if ((next[node] as number) < (outCount[node + 1] as number)) {
      const child = succ[(next[node] as number)++] as number;
      if (!visited[child]) {
        visited[child] = 1;
        next[child] = outCount[child] as number;
        stack.push(child);
      }
    } else {
      stack.pop();
      post[node] = byPost.length;
      byPost.push(node);
    }
  }

  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    let x = a;
    let y = b;
    while (x !== y) {
      while ((post[x] as number) < (post[y] as number)) x = idom[x] as number;
      while ((post[y] as number) < (post[x] as number)) y = idom[y] as number;
    }
    return x;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let p = byPost.length - 2; p >= 0; p--) {
      const node = byPost[p] as number;
      let candidate = -1;
      for (let e = inCount[node] as number; e < (inCount[node + 1] as number); e++) {
        const from = pred[e] as number;
        if (idom[from] === -1) continue;
        candidate = candidate === -1 ? from : intersect(from, candidate);
      }
      if (candidate !== -1 && idom[node] !== candidate) {
        idom[node] = candidate;
        changed = true;
      }
    }
  }
  return { of: idom, order: Int32Array.from(byPost.reverse()) };
}
