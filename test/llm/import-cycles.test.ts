import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Cycles, type-only ones included, make the load order of the CJS build fragile and the module
// graph hard to read; the providers are many small files, so keep them a tree.
const SRC = join(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function graphOf(files: Map<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, source] of files) {
    const deps: string[] = [];
    for (const match of source.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      deps.push(normalize(join(dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts'))));
    }
    graph.set(file, deps);
  }
  return graph;
}

function findCycles(graph: Map<string, string[]>): string[] {
  const cycles: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string) => {
    const at = path.indexOf(node);
    if (at >= 0) {
      cycles.push([...path.slice(at), node].map((file) => relative(SRC, file)).join(' -> '));
      return;
    }
    if (done.has(node)) return;
    path.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    path.pop();
    done.add(node);
  };
  for (const node of graph.keys()) visit(node);
  return cycles;
}

describe('module graph', () => {
  it('src/ has no import cycle, type-only imports included', () => {
    const files = new Map(sourceFiles(SRC).map((file) => [file, readFileSync(file, 'utf8')]));
    expect(files.size).toBeGreaterThan(10);
    expect(findCycles(graphOf(files))).toEqual([]);
  });

  it('the cycle finder sees a type-only cycle', () => {
    const a = join(SRC, 'a.ts');
    const b = join(SRC, 'b.ts');
    const graph = graphOf(
      new Map([
        [a, `import type { B } from './b.js';`],
        [b, `import { a } from './a.js';`],
      ]),
    );
    expect(findCycles(graph)).toEqual(['a.ts -> b.ts -> a.ts']);
  });
});
