import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Real sockets, child processes and Redis: keep parallelism modest on 2-core machines.
    maxWorkers: 2,
  },
});
