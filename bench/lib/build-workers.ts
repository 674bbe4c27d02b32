/**
 * Bundles the bench's child processes (`server.ts`, `upstream.ts`) into plain ESM with esbuild
 * (the one tsup brings), so they run on bare Node: no tsx loader thread in the memory figures,
 * no on-the-fly transpiling in the CPU ones. Dependencies stay external (loaded from
 * node_modules as an app would). `--profile` runs skip this, to keep source paths in profiles.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Builds `bench/.build/server.mjs` and `bench/.build/upstream.mjs`; returns their bench-relative names. */
export async function buildWorkers(): Promise<{ server: string; upstream: string }> {
  await bundleBenchScripts(['server', 'upstream']);
  return { server: '.build/server.mjs', upstream: '.build/upstream.mjs' };
}

/** Bundles `bench/<name>.ts` into `bench/.build/<name>.mjs` for each name. */
export async function bundleBenchScripts(names: readonly string[]): Promise<void> {
  const bench = fileURLToPath(new URL('..', import.meta.url));
  await build({
    entryPoints: Object.fromEntries(names.map((name) => [name, `${bench}${name}.ts`])),
    outdir: `${bench}.build`,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
}
