import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import { redisStorage } from '../../src/redis/redis-storage.js';
import { SessionStore } from '../../src/session/session-store.js';
import { type ChatStorage, memoryStorage } from '../../src/storage.js';
import type { McpServerConfig, SessionConfig } from '../../src/types.js';
import { deletePrefix, REDIS_URL, requireRedis } from '../fixtures/shared-redis.js';
import { jsonRequest, type Stack, startStack } from './stack.js';

// Storage is not the host: whoever can write to it must not be able to make a process spawn a
// program, or contact a server the host's allow-list never named.
const hasRedis = await requireRedis('stored records (Redis)');
const PREFIX = `test:stored:${process.pid}:`;
const SEAL_KEY = 'a seal key for the stored-records test';

let stack: Stack;
let redis: Redis | undefined;
let offList: Server;
let offListHits = 0;
let offListUrl: string;
let scratch: string;

beforeAll(async () => {
  stack = await startStack();
  redis = hasRedis ? new Redis(REDIS_URL) : undefined;
  offList = createServer((_req, res) => {
    offListHits++;
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => offList.listen(0, '127.0.0.1', resolve));
  offListUrl = `http://127.0.0.1:${(offList.address() as AddressInfo).port}/mcp`;
  scratch = mkdtempSync(join(tmpdir(), 'llmchat-stored-'));
});

afterAll(async () => {
  await stack.close();
  await new Promise<void>((resolve) => offList.close(() => resolve()));
  rmSync(scratch, { recursive: true, force: true });
  if (redis) {
    await deletePrefix(redis, PREFIX);
    await redis.quit();
  }
});

/** A stdio server that would leave a file behind if it were ever spawned. */
function stdioServer(marker: string): McpServerConfig {
  return {
    transport: 'stdio',
    command: process.execPath,
    args: ['-e', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'spawned')`],
  };
}

const storages: Array<[string, () => ChatStorage]> = [
  ['memory', () => memoryStorage()],
  ...(hasRedis
    ? [['Redis', () => redisStorage(redis as Redis, { keyPrefix: PREFIX })] as [string, () => ChatStorage]]
    : []),
];

describe.each(storages)('a record written straight into %s storage', (storageName, makeStorage) => {
  describe.each([
    ['without sealKey', undefined],
    ['with sealKey', SEAL_KEY],
  ])('%s', (sealName, sealKey) => {
    async function attack(user: string, server: McpServerConfig) {
      const storage = makeStorage();
      const handler = createChatHandler({ ...stack.options, storage, ...(sealKey ? { sealKey } : {}) });
      try {
        // Someone with write access to the storage (and the seal key, if any) plants a session.
        const config: SessionConfig = { servers: [server], model: 'fake', streaming: false };
        await new SessionStore(storage.sessions, sealKey ? { sealKey } : {}).createSession(user, config);
        const answers = [];
        for (const streaming of [false, true]) {
          const response = await handler.fetch(jsonRequest('/chat', user, { message: 'hello', streaming }));
          answers.push([response.status, (await response.json()).code]);
        }
        return answers;
      } finally {
        await handler.close();
      }
    }

    it('never spawns a stdio server the host did not configure', async () => {
      const marker = join(scratch, `${storageName}-${sealName}`.replace(/\W+/g, '-'));
      const answers = await attack(`stdio-${storageName}-${sealName}`, stdioServer(marker));
      // Twice SESSION_INVALID, not 409: the refused turn let its lock go.
      expect(answers).toEqual([
        [500, 'SESSION_INVALID'],
        [500, 'SESSION_INVALID'],
      ]);
      // Had the program run, it would have written its file by now (it is spawned before the
      // MCP handshake that would then fail); give it a moment anyway.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(existsSync(marker)).toBe(false);
    });

    it('never contacts a URL outside the allow-list', async () => {
      const before = offListHits;
      const answers = await attack(`url-${storageName}-${sealName}`, { url: offListUrl });
      expect(answers).toEqual([
        [500, 'SESSION_INVALID'],
        [500, 'SESSION_INVALID'],
      ]);
      expect(offListHits - before).toBe(0);
    });
  });
});

describe('a host that configured its own stdio server', () => {
  it('spawns only that program, never another one named by storage', async () => {
    const marker = join(scratch, 'other-program');
    const own: McpServerConfig = { transport: 'stdio', command: process.execPath, args: ['-e', 'process.exit(0)'] };
    const storage = memoryStorage();
    const handler = createChatHandler({ ...stack.options, storage, mcp: { defaultServer: own } });
    try {
      await new SessionStore(storage.sessions).createSession('stdio-host', {
        servers: [{ ...stdioServer(marker) }],
        model: 'fake',
        streaming: false,
      });
      const response = await handler.fetch(jsonRequest('/chat', 'stdio-host', { message: 'hello' }));
      expect([response.status, (await response.json()).code]).toEqual([500, 'SESSION_INVALID']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(existsSync(marker)).toBe(false);
    } finally {
      await handler.close();
    }
  });
});
