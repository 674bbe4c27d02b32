import { describe, expect, it } from 'vitest';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import type { TurnBackend } from '../../src/turns/turn-backend.js';
import { TurnLog } from '../../src/turns/turn-log.js';

const ref = { userId: 'alice', turnId: 'AAAAAAAAAAAAAAAA' };
const events = [{ seq: 1, event: 'token', data: { content: 'Hi' } }];

/** The memory backend with `append` replaced. */
function backendWith(append: TurnBackend['append']): TurnBackend {
  const backend = new MemoryTurnBackend();
  backend.append = append;
  return backend;
}

describe('TurnLog storage failures', () => {
  it('wraps a rejected or thrown backend failure as BACKEND_UNAVAILABLE, always as a rejection', async () => {
    for (const append of [
      async () => {
        throw new Error('socket closed');
      },
      () => {
        throw new Error('thrown before any promise');
      },
    ] as TurnBackend['append'][]) {
      const log = new TurnLog(backendWith(append));
      let result: Promise<boolean> | undefined;
      expect(() => {
        result = log.append(ref, events, 60_000);
      }).not.toThrow();
      await expect(result).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    }
  });

  it('takes a backend that answers with a plain value', async () => {
    const log = new TurnLog(backendWith((() => true) as unknown as TurnBackend['append']));
    await expect(log.append(ref, events, 60_000)).resolves.toBe(true);
  });

  it('rejects, not throws, an event that cannot be serialized', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const log = new TurnLog(new MemoryTurnBackend());
    let result: Promise<boolean> | undefined;
    expect(() => {
      result = log.append(ref, [{ seq: 1, event: 'token', data: circular }], 60_000);
    }).not.toThrow();
    await expect(result).rejects.toThrow();
  });
});
