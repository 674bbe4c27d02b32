import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRIES } from '../../scripts/entries.js';

// Packs the package as npm would publish it, installs the tarball into a scratch project and
// loads every entry through `import` and through `require` — the latter on a Node with
// require(esm) turned off, so an ESM-only dependency under a CJS entry fails here.
const ROOT = join(import.meta.dirname, '../..');
const SUBPATHS = Object.keys(ENTRIES).map((name) => (name === 'index' ? 'mcp-llmchat' : `mcp-llmchat/${name}`));
let scratch = '';

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: scratch, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'mcp-llmchat-pack-'));
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', scratch], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop();
  // The tarball's own files are unpacked into a fresh node_modules/mcp-llmchat; its runtime
  // dependencies come from this checkout's node_modules, so the test needs no network.
  const target = join(scratch, 'node_modules', 'mcp-llmchat');
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', join(scratch, tarball ?? ''), '-C', target, '--strip-components=1']);
  for (const dependency of [
    '@modelcontextprotocol',
    'zod',
    'eventsource-parser',
    'ioredis',
    'rate-limiter-flexible',
    'undici',
    '@opentelemetry',
  ]) {
    symlinkSync(join(ROOT, 'node_modules', dependency), join(scratch, 'node_modules', dependency));
  }
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
}, 120_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships only the build, the README and the changelog', () => {
    const files = execFileSync('tar', ['-tzf', join(scratch, readdirTarball())], { encoding: 'utf8' }).split('\n');
    expect(files.some((file) => file.startsWith('package/dist/index.js'))).toBe(true);
    expect(files.some((file) => file.startsWith('package/src/'))).toBe(false);
    expect(files.some((file) => file.startsWith('package/test/'))).toBe(false);
  });

  it.each(SUBPATHS)('%s loads through import', (subpath) => {
    const keys = node([
      '--input-type=module',
      '-e',
      `const m = await import('${subpath}'); console.log(JSON.stringify(Object.keys(m)))`,
    ]);
    expect(JSON.parse(keys).length).toBeGreaterThan(0);
  });

  it.each(SUBPATHS)('%s loads through require without require(esm)', (subpath) => {
    const keys = node([
      '--no-experimental-require-module',
      '-e',
      `console.log(JSON.stringify(Object.keys(require('${subpath}'))))`,
    ]);
    expect(JSON.parse(keys).length).toBeGreaterThan(0);
  });

  it('loads rate-limiter-flexible on first use, from both copies', () => {
    const cjs = node([
      '--no-experimental-require-module',
      '-e',
      `require('mcp-llmchat/engine').memoryRateWindow().consume('k', 1, 1000).then((r) => console.log(r.allowed))`,
    ]);
    const esm = node([
      '--input-type=module',
      '-e',
      `const { memoryRateWindow } = await import('mcp-llmchat/engine'); console.log((await memoryRateWindow().consume('k', 1, 1000)).allowed)`,
    ]);
    expect([cjs.trim(), esm.trim()]).toEqual(['true', 'true']);
  });

  it('mcp-llmchat/otel runs a turn on the API alone, with no SDK registered', () => {
    const out = node([
      '--no-experimental-require-module',
      '-e',
      `const { openTelemetry } = require('mcp-llmchat/otel'); const { trace } = require('@opentelemetry/api');
       const turn = { userId: 'u', modelId: 'm', streaming: true, message: 'x' };
       // No SDK registered: the turn is not observed at all.
       console.log(typeof openTelemetry().startTurn(turn));
       // A host's own tracer provider (here one handing out the API's tracer): observed.
       const hooks = openTelemetry({ tracerProvider: { getTracer: (name) => trace.getTracer(name) } }).startTurn(turn);
       hooks.end({ status: 'final', text: '' }); console.log(typeof hooks.llmCall)`,
    ]);
    expect(out.trim().split('\n')).toEqual(['undefined', 'function']);
  });

  it('the ESM and CJS copies recognize each other’s errors', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       const esm = await import('mcp-llmchat');
       const cjs = createRequire(import.meta.url)('mcp-llmchat');
       console.log(cjs.isLlmChatError(new esm.LlmChatError('INTERNAL', 'x')), esm.isLlmChatError(new cjs.LlmChatError('INTERNAL', 'y')));`,
    ]);
    expect(out.trim()).toBe('true true');
  });
});

function readdirTarball(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  return `${pkg.name}-${pkg.version}.tgz`;
}
