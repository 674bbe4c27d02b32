import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { createChatHandler } from 'mcp-llmchat';
import { toExpressMiddleware } from 'mcp-llmchat/express';
import { redisStorage } from 'mcp-llmchat/redis';
import { isLocalWebRequest } from '../../demo/local-only.js';
import { startDevServices } from '../shared/dev-services.js';
import { closeHttpServer, onShutdown } from '../shared/shutdown.js';

const port = Number(process.env.PORT ?? 3000);

if (cluster.isPrimary) {
  // One MCP server and one model for all workers: their URLs reach the workers through the environment.
  const services = await startDevServices();
  const workerCount = Number(process.env.WORKERS ?? 2);
  for (let i = 0; i < workerCount; i++) cluster.fork(services.sharedEnv);

  let listening = 0;
  cluster.on('listening', (_worker, address) => {
    listening += 1;
    if (listening === workerCount)
      console.log(`listening on http://127.0.0.1:${address.port} (${workerCount} workers)`);
  });
  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A real deployment would fork a replacement; the example stops so that failures are seen.
    console.error(`worker ${worker.process.pid} died (${signal ?? code}); stopping`);
    process.kill(process.pid, 'SIGTERM');
  });

  onShutdown(async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
    await Promise.all(
      workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve).process.kill('SIGTERM'))),
    );
    await services.close();
  });
} else {
  // Each worker is an ordinary Express app; only the storage makes them one service.
  // MCP_URL and SCRIPTED_MODEL_URL come from the primary, so this starts nothing of its own.
  const services = await startDevServices();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  redis.on('error', (error: Error) => console.error(`worker ${process.pid}: redis: ${error.message}`));

  const storage = redisStorage(redis, { keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'llmchat:' });
  const handler = createChatHandler({
    // Stand-in for your own authentication: never trust a client-chosen id like this in production.
    authenticate: (request) => {
      // Only pages on this machine: a site that points its name at 127.0.0.1 (DNS rebinding) gets nothing.
      if (!isLocalWebRequest(request, (server.address() as AddressInfo).port)) return null;
      const id = request.headers.get('x-user-id');
      return id ? { id } : null;
    },
    models: services.models,
    mcp: { defaultServer: services.mcpServer },
    storage,
    logger: { warn: console.warn, error: console.error },
  });

  const app = express();
  // Names the process that served each response, to show that any worker serves any user.
  app.use((_req, res, next) => {
    res.setHeader('x-worker', String(process.pid));
    next();
  });
  app.use('/llmchat', toExpressMiddleware(handler));
  const server = app.listen(port, '127.0.0.1');

  onShutdown(async () => {
    await closeHttpServer(server);
    await handler.close();
    // Ends the message bus's subscriber connection, which would keep the process alive.
    await storage.close();
    await redis.quit();
  });
}
