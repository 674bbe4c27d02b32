import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // The demo and the examples import the package by name, as users do; in tests those names
    // mean this checkout's source (tsx does the same through the tsconfig paths).
    alias: [
      { find: /^mcp-llmchat$/, replacement: src('index.ts') },
      { find: /^mcp-llmchat\/engine$/, replacement: src('engine.ts') },
      { find: /^mcp-llmchat\/sse$/, replacement: src('sse/index.ts') },
      { find: /^mcp-llmchat\/redis$/, replacement: src('redis/index.ts') },
      { find: /^mcp-llmchat\/(express|fastify|koa)$/, replacement: src('adapters/$1.ts') },
      { find: /^mcp-llmchat\/otel$/, replacement: src('telemetry/otel/index.ts') },
    ],
  },
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Real sockets, child processes and Redis: keep parallelism modest on 2-core machines.
    maxWorkers: 2,
    // In CI, a failed integration test runs once more (below); this reporter names each one that
    // passed only then.
    reporters: process.env.CI ? ['default', './test/support/retried-tests-reporter.ts'] : ['default'],
    // `npm test` runs both projects; `npm run test:unit` only the first, for the edit loop:
    // pure in-process tests (no servers, no child processes, no Redis) that finish in seconds.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // CI runs this project on Node 20, 24 and (its core) 22 on a loaded 2-core machine, with
          // child processes, clusters and a browser racing real timers: a test that fails is run
          // once more there, and the retried-tests reporter names every test that needed it.
          // Locally, never.
          retry: process.env.CI ? 1 : 0,
          exclude: ['**/node_modules/**', 'test/unit/**'],
        },
      },
    ],
  },
});
