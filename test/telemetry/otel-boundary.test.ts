import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENTRIES } from '../../scripts/entries.js';

// `@opentelemetry/api` is an optional peer: only the `mcp-llmchat/otel` entry may load it, so a
// host that never imports that entry never needs the package.
const SRC = join(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the otel boundary', () => {
  it('has its own entry', () => {
    expect(ENTRIES).toHaveProperty('otel', 'src/telemetry/otel/index.ts');
  });

  it('no file outside src/telemetry/otel imports @opentelemetry', () => {
    const files = sourceFiles(SRC);
    const inside = files.filter((file) => relative(SRC, file).startsWith('telemetry/otel/'));
    const offenders = files
      .filter((file) => !inside.includes(file))
      .filter((file) => /from\s+['"]@opentelemetry\//.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file));
    expect(inside.some((file) => /from\s+['"]@opentelemetry\/api['"]/.test(readFileSync(file, 'utf8')))).toBe(true);
    expect(offenders).toEqual([]);
  });
});
