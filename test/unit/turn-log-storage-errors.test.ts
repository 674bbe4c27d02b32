import { describe, expect, it } from 'vitest';
import { MemoryTurnBackend } from '../../src/turns/memory-turn-backend.js';
import type { TurnBackend } from '../../src/turns/turn-backend.js';
import { TurnLog } from '../../src/turns/turn-log.js';
import { asyncAppendOnly } from '../turns/async-append-only.js';

const ref = { userId: 'alice', turnId: 'AAAAAAAAAAAAAAAA' };
const event = { seq: 1, event: 'token', data: { content: 'Hi' } };
const events = [event];

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

  it('appendSync wraps a backend failure as BACKEND_UNAVAILABLE and passes an LlmChatError through', () => {
    const backend = new MemoryTurnBackend();
    const log = new TurnLog(backend);
    expect(log.appendsSync).toBe(true);
    expect(log.appendSync(ref, events, 60_000)).toBe(true);
    // The backend's own typed refusal (out of order) keeps its code.
    expect(() => log.appendSync(ref, events, 60_000)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    const failing = new MemoryTurnBackend();
    failing.appendSync = () => {
      throw new Error('disk full');
    };
    expect(() => new TurnLog(failing).appendSync(ref, [{ ...event, seq: 2 }], 60_000)).toThrow(
      expect.objectContaining({ code: 'BACKEND_UNAVAILABLE' }),
    );
  });

  it('a backend without appendSync is written through append only', async () => {
    const asyncOnly = asyncAppendOnly(new MemoryTurnBackend());
    const log = new TurnLog(asyncOnly);
    expect(log.appendsSync).toBe(false);
    expect(() => log.appendSync(ref, events, 60_000)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    await expect(log.append(ref, events, 60_000)).resolves.toBe(true);
    expect((await log.read(ref, 0)).map((event) => event.seq)).toEqual([1]);
  });
});
