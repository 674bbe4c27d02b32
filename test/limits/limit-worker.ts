/**
 * A process of the cross-process limits test. It builds what a host would on Redis and waits
 * for commands on stdin, one JSON line each, answering one JSON line on stdout:
 * - `{"op":"requests","n":N}`: N concurrent `POST /chat` through a handler with `limits.requests`;
 *   answers `{"admitted":a,"refused":r}` (admitted requests get past the limits to 400, no session,
 *   or 409, a turn of this user running; refused ones get 429 RATE_LIMITED);
 * - `{"op":"take","n":N}`: N concurrent stream-slot takes, holding the ones it got; `{"taken":t}`;
 * - `{"op":"release"}`: frees every held slot; `{"released":k}`.
 * The first line out is `{"ready":true}`.
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { type StreamSlot, StreamSlots } from '../../src/limits/stream-slots.js';
import { LockManager } from '../../src/lock/lock-manager.js';
import { RedisLockBackend } from '../../src/redis/redis-lock-backend.js';
import { redisStorage } from '../../src/redis/redis-storage.js';

interface Config {
  redisUrl: string;
  keyPrefix: string;
  user: string;
  limit: number;
  windowMs: number;
  streams: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const redis = new Redis(config.redisUrl);
const storage = redisStorage(redis, { keyPrefix: config.keyPrefix });
const handler = createChatHandler({
  authenticate: (request) => ({ id: (request.headers.get('authorization') ?? '').replace('Bearer user:', '') }),
  models: [{ id: 'fake', provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' }],
  storage,
  limits: { requests: { limit: config.limit, windowMs: config.windowMs } },
});
const slots = new StreamSlots(new LockManager(new RedisLockBackend(redis, { keyPrefix: config.keyPrefix })), {
  ttlMs: 10_000,
});
const held: StreamSlot[] = [];

function chat(): Promise<number> {
  return handler
    .fetch(
      new Request('http://local/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer user:${config.user}` },
        body: JSON.stringify({ message: 'hi', streaming: false }),
      }),
    )
    .then((response) => response.status);
}

async function run(command: { op: string; n?: number }): Promise<unknown> {
  const n = command.n ?? 0;
  if (command.op === 'requests') {
    const statuses = await Promise.all(Array.from({ length: n }, chat));
    return {
      admitted: statuses.filter((status) => status === 400 || status === 409).length,
      refused: statuses.filter((status) => status === 429).length,
    };
  }
  if (command.op === 'take') {
    const outcomes = await Promise.allSettled(Array.from({ length: n }, () => slots.take(config.user, config.streams)));
    let taken = 0;
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') {
        held.push(outcome.value);
        taken += 1;
      }
    }
    return { taken };
  }
  const released = held.length;
  for (const slot of held.splice(0)) slot.release();
  return { released };
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  run(JSON.parse(line) as { op: string; n?: number }).then(
    (answer) => process.stdout.write(`${JSON.stringify(answer)}\n`),
    (error: unknown) => process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`),
  );
});
lines.on('close', () => {
  for (const slot of held.splice(0)) slot.release();
  void handler.close().then(() => redis.quit());
});
await redis.ping();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
