import { describe, expect, it } from 'vitest';
import { newObjects, ownedBy, ownersOf } from '../../bench/lib/heap-owners.js';
import { Snapshot, type SnapshotFile } from '../../bench/lib/heap-snapshot.js';

const NODE_TYPES = ['synthetic', 'object', 'closure'];
const EDGE_TYPES = ['property', 'weak', 'shortcut'];

/** A snapshot of `nodes` (by index; the first is the root) and `edges` between them. */
function snapshotOf(
  nodes: Array<{ type: string; name: string; id: number; size: number }>,
  edges: Array<{ from: number; to: number; type?: string }>,
): Snapshot {
  const strings: string[] = [];
  const stringIndex = (text: string) => {
    const at = strings.indexOf(text);
    if (at >= 0) return at;
    strings.push(text);
    return strings.length - 1;
  };
  const flatNodes: number[] = [];
  const flatEdges: number[] = [];
  nodes.forEach((node, index) => {
    const own = edges.filter((edge) => edge.from === index);
    flatNodes.push(NODE_TYPES.indexOf(node.type), stringIndex(node.name), node.id, node.size, own.length);
    for (const edge of own) flatEdges.push(EDGE_TYPES.indexOf(edge.type ?? 'property'), stringIndex('e'), edge.to * 5);
  });
  const file: SnapshotFile = {
    snapshot: {
      meta: {
        node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'],
        node_types: [NODE_TYPES],
        edge_fields: ['type', 'name_or_index', 'to_node'],
        edge_types: [EDGE_TYPES],
      },
    },
    nodes: flatNodes,
    edges: flatEdges,
    strings,
  };
  return new Snapshot(file);
}

describe('heap owners', () => {
  // root → Server (old) → Stream (new) → Part (new); Stream and Cache (old) both hold Shared (new):
  // only the root dominates Shared, so it is an owner of its own. A weak edge from Cache to Part
  // keeps nothing alive and changes nothing.
  const snapshot = snapshotOf(
    [
      { type: 'synthetic', name: '', id: 1, size: 0 },
      { type: 'object', name: 'Server', id: 3, size: 500 },
      { type: 'object', name: 'Stream', id: 101, size: 100 },
      { type: 'closure', name: 'part', id: 103, size: 50 },
      { type: 'object', name: 'Shared', id: 105, size: 30 },
      { type: 'object', name: 'Cache', id: 5, size: 700 },
      { type: 'object', name: 'Stream', id: 107, size: 100 },
    ],
    [
      { from: 0, to: 1 },
      { from: 0, to: 5 },
      { from: 1, to: 2 },
      { from: 2, to: 3 },
      { from: 2, to: 4 },
      { from: 5, to: 4 },
      { from: 5, to: 3, type: 'weak' },
      { from: 1, to: 6 },
      { from: 6, to: 6, type: 'shortcut' },
    ],
  );

  it('counts each new object under the outermost new object that alone keeps it alive', () => {
    const owners = ownersOf(newObjects(snapshot, new Set([1, 3, 5])), 2);
    expect(owners).toEqual([
      ['Stream (object)', { count: 1, bytes: 125 }],
      ['Shared (object)', { count: 0.5, bytes: 15 }],
    ]);
  });

  it('opens one kind of owner: what its owners hold, by kind, the owners themselves included', () => {
    expect(ownedBy(newObjects(snapshot, new Set([1, 3, 5])), 'Stream (object)', 2)).toEqual([
      ['Stream (object)', { count: 1, bytes: 100 }],
      ['part (closure)', { count: 0.5, bytes: 25 }],
    ]);
    expect(ownedBy(newObjects(snapshot, new Set([1, 3, 5])), 'Cache (object)', 1)).toEqual([]);
  });

  it('leaves out what was there before', () => {
    expect(ownersOf(newObjects(snapshot, new Set([1, 3, 5, 101, 103, 105, 107])), 1)).toEqual([]);
  });

  it('makes a new object held only through an old one its own owner', () => {
    const owners = ownersOf(newObjects(snapshot, new Set([1, 3, 5, 101])), 1);
    expect(owners).toEqual([
      ['Stream (object)', { count: 1, bytes: 100 }],
      ['part (closure)', { count: 1, bytes: 50 }],
      ['Shared (object)', { count: 1, bytes: 30 }],
    ]);
  });
});
