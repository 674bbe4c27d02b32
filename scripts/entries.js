// The package's entry points, written once: tsup builds these and scripts/check-exports.mjs
// checks that package.json's `exports` map names exactly these.
export const ENTRIES = {
  index: 'src/index.ts',
  engine: 'src/engine.ts',
  sse: 'src/sse/index.ts',
  redis: 'src/redis/index.ts',
  express: 'src/adapters/express.ts',
  fastify: 'src/adapters/fastify.ts',
  koa: 'src/adapters/koa.ts',
  otel: 'src/telemetry/otel/index.ts',
};
