import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// The framework-free core must load without express, fastify, koa, ioredis or node:http, so
// hosts on Hono, Bun, Deno or Next can use it. Only the subpath entries may import them. A
// type-only import is erased from the build, so it is allowed (the provider transport names
// undici's and node's types, and imports undici on its first call, falling back to fetch).
const SRC = join(import.meta.dirname, '../../src');
const EDGE_FOLDERS = ['adapters', 'redis'];
const FORBIDDEN = /^(express|fastify|koa|ioredis|node:http|node:https|http|https)(\/|$)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(
    /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    if (/^(import|export)\s+type\s/.test(match[0])) continue;
    found.push(match[1] ?? match[2] ?? match[3] ?? '');
  }
  return found;
}

describe('core boundaries', () => {
  const coreFiles = sourceFiles(SRC).filter((file) => !EDGE_FOLDERS.includes(relative(SRC, file).split('/')[0] ?? ''));

  it('finds the core files', () => {
    expect(coreFiles.length).toBeGreaterThan(1);
  });

  it('no core file imports a framework, ioredis or node:http', () => {
    const offenders = coreFiles.flatMap((file) =>
      importsOf(readFileSync(file, 'utf8'))
        .filter((specifier) => FORBIDDEN.test(specifier) || /\/(adapters|redis)\//.test(specifier))
        .map((specifier) => `${relative(SRC, file)} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the scanner itself catches a forbidden import', () => {
    expect(importsOf(`import { Redis } from 'ioredis';`).some((s) => FORBIDDEN.test(s))).toBe(true);
    expect(importsOf(`const h = await import('node:http');`).some((s) => FORBIDDEN.test(s))).toBe(true);
    expect(importsOf(`import { request } from 'node:http';`).some((s) => FORBIDDEN.test(s))).toBe(true);
    expect(importsOf(`import type { IncomingMessage } from 'node:http';`)).toEqual([]);
  });
});
