/** A V8 heap snapshot (`.heapsnapshot`) read in place: its flat node and edge arrays, by offset. */
import { readFileSync } from 'node:fs';

/** The JSON of a `.heapsnapshot` file, as far as it is read here. */
export interface SnapshotFile {
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

/** A parsed snapshot read node by node (a node is its offset in `nodes`) and edge by edge. */
export class Snapshot {
  readonly #file: SnapshotFile;
  readonly #nodeStride: number;
  readonly #typeAt: number;
  readonly #nameAt: number;
  readonly #sizeAt: number;
  readonly #idAt: number;
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
    this.#idAt = nodeFields.indexOf('id');
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

  /** How many nodes the snapshot holds; node `i` is at offset `i * nodeStride`. */
  get nodeCount(): number {
    return this.#file.nodes.length / this.#nodeStride;
  }

  /** The number of fields of a node: a node's offset divided by it is its index. */
  get nodeStride(): number {
    return this.#nodeStride;
  }

  /**
   * Calls `visit` with every edge: its holder, its target, its name (`[i]` for an index) and
   * whether it is weak (or a shortcut, which only repeats another path): such an edge keeps
   * nothing alive.
   */
  forEachEdge(visit: (from: number, to: number, name: () => string, weak: boolean) => void): void {
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
        const type = this.#file.snapshot.meta.edge_types[0][edges[at + this.#edgeTypeAt] as number];
        visit(from, edges[at + this.#toAt] as number, name, type === 'weak' || type === 'shortcut');
      }
    }
  }

  /** The node's type: `object`, `closure`, `string`, `hidden`, … */
  type(node: number): string {
    return this.#file.snapshot.meta.node_types[0][this.#file.nodes[node + this.#typeAt] as number] ?? '?';
  }

  /** An object's constructor name, a closure's function name, a string's text. */
  name(node: number): string {
    return this.#file.strings[this.#file.nodes[node + this.#nameAt] as number] ?? '';
  }

  /** The node's own size in bytes (not what it keeps alive). */
  size(node: number): number {
    return this.#file.nodes[node + this.#sizeAt] as number;
  }

  /** The object's id, the same in every snapshot the process writes. */
  id(node: number): number {
    return this.#file.nodes[node + this.#idAt] as number;
  }
}

/** Reads and parses the snapshot at `path`. */
export function readSnapshot(path: string): Snapshot {
  return new Snapshot(JSON.parse(readFileSync(path, 'utf8')) as SnapshotFile);
}
