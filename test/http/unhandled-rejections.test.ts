import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  openRedisTarget,
  REDIS_TARGETS,
  type RedisTarget,
  type RedisTargetKind,
  redisTargetAvailable,
} from '../fixtures/redis-targets.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PREFIX = `test:race:${process.pid}:`;
const targets: RedisTargetKind[] = [];
for (const kind of REDIS_TARGETS)
  if (await redisTargetAvailable(kind, `unhandled-rejections (${kind})`)) targets.push(kind);

/** Runs test/fixtures/route-race.ts in a plain Node process: an unhandled rejection kills it. */
function race(config: Record<string, unknown>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/route-race.ts', JSON.stringify(config)], {
      cwd: ROOT,
      // No inherited NODE_OPTIONS: Node's default, --unhandled-rejections=throw, must apply.
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectOutcomes(counts: Record<string, Record<string, number>>): void {
  for (const policy of ['reject', 'queue']) {
    // A user with no session is told so, whoever else holds or waits for the lock.
    const noSession = counts[`${policy}:no-session`] ?? {};
    expect(Object.keys(noSession).sort(), policy).toEqual(['400 SESSION_NOT_FOUND']);
    const racing = counts[`${policy}:racing`] ?? {};
    const allowed = policy === 'reject' ? ['200 final', '200 ok', '409 TURN_IN_PROGRESS'] : ['200 final', '200 ok'];
    for (const result of Object.keys(racing)) expect(allowed, `${policy}: ${result}`).toContain(result);
    expect((racing['200 final'] ?? 0) + (racing['200 ok'] ?? 0), policy).toBeGreaterThan(0);
  }
  expect(counts['reject:racing']?.['409 TURN_IN_PROGRESS'] ?? 0).toBeGreaterThan(0);
}

describe('no unhandled rejection under concurrent turns (a plain Node process)', () => {
  const opened: RedisTarget[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((target) => target.close()));
  });

  it('on memory storage', async () => {
    const run = await race({ storage: 'memory' });
    expect(run.stderr).not.toMatch(/Unhandled|unhandled/);
    expect(run.code, run.stderr).toBe(0);
    expectOutcomes(JSON.parse(run.stdout));
  }, 60_000);

  it.each(targets)(
    'on %s',
    async (kind) => {
      const target = await openRedisTarget(kind, PREFIX);
      opened.push(target);
      const run = await race({ storage: 'redis', redisUrl: target.url, keyPrefix: PREFIX });
      expect(run.stderr).not.toMatch(/Unhandled|unhandled/);
      expect(run.code, run.stderr).toBe(0);
      expectOutcomes(JSON.parse(run.stdout));
    },
    120_000,
  );
});
