import { EventEmitter, getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type DrainableLike, waitForDrain } from '../../src/adapters/node/wait-for-drain.js';

function fakeStream(): DrainableLike & { destroyed: boolean } {
  return Object.assign(new EventEmitter(), { destroyed: false });
}

describe('waitForDrain', () => {
  it('leaves no listener behind after 1000 waits ended by drain, close or abort', async () => {
    const stream = fakeStream();
    const controller = new AbortController();
    for (let i = 0; i < 1000; i++) {
      const waiting = waitForDrain(stream, controller.signal);
      expect(stream.listenerCount('drain')).toBe(1);
      stream.emit(i % 2 === 0 ? 'drain' : 'close');
      await waiting;
    }
    expect(stream.listenerCount('drain')).toBe(0);
    expect(stream.listenerCount('close')).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    const waiting = waitForDrain(stream, controller.signal);
    controller.abort();
    await waiting;
    expect(stream.listenerCount('drain') + stream.listenerCount('close')).toBe(0);
  });

  it('waits until drain is emitted', async () => {
    const stream = fakeStream();
    let resolved = false;
    const waiting = waitForDrain(stream).then(() => {
      resolved = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(resolved).toBe(false);
    stream.emit('drain');
    await waiting;
    expect(resolved).toBe(true);
  });

  it('resolves at once for a destroyed stream or an aborted signal, adding no listener', async () => {
    const destroyed = Object.assign(fakeStream(), { destroyed: true });
    await waitForDrain(destroyed);
    const stream = fakeStream();
    await waitForDrain(stream, AbortSignal.abort());
    expect(destroyed.listenerCount('drain') + stream.listenerCount('drain')).toBe(0);
  });
});
