import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// The adapter entries must load without the frameworks installed: every framework import is type-only.
const ADAPTERS = join(import.meta.dirname, '../../src/adapters');
const FRAMEWORK = /^(express|fastify|koa)(\/|$)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Runtime (non type-only) module specifiers of a source file. */
function runtimeImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
    if (!match[2]) found.push(match[3] ?? '');
  }
  for (const match of source.matchAll(/(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1] ?? '');
  return found;
}

describe('adapter imports', () => {
  it('scans the adapter sources', () => {
    expect(sourceFiles(ADAPTERS).length).toBeGreaterThanOrEqual(4);
  });

  it('imports express, fastify and koa for types only', () => {
    const offenders = sourceFiles(ADAPTERS).flatMap((file) =>
      runtimeImports(readFileSync(file, 'utf8'))
        .filter((specifier) => FRAMEWORK.test(specifier))
        .map((specifier) => `${relative(ADAPTERS, file)} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the scanner tells a runtime import from a type-only one', () => {
    expect(runtimeImports(`import Fastify from 'fastify';`)).toEqual(['fastify']);
    expect(runtimeImports(`import type { FastifyPluginAsync } from 'fastify';`)).toEqual([]);
  });
});
