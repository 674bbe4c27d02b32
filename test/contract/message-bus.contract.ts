import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { MessageBus } from '../../src/bus/message-bus.js';

/**
 * Two handles on one bus: two storages (two processes' worth of connections) for Redis, the same
 * instance twice for memory. The caller closes them after the suite.
 */
export type MakeMessageBuses = () => Promise<[MessageBus, MessageBus]>;

const WAIT = { timeout: 3000, interval: 10 };
const uniqueChannel = (label: string) => `${label}:${randomUUID()}`;

/** A listener that records what it receives. */
function recorder(): { received: string[]; listener: (message: string) => void } {
  const received: string[] = [];
  return { received, listener: (message) => received.push(message) };
}

/**
 * The behaviour every {@link MessageBus} must have. Runs unchanged against the memory bus and a
 * real Redis (and Redis Cluster). "Not delivered" is checked deterministically: a marker sent
 * after the message on the same publisher must arrive first at a listener that is still there.
 */
export function runMessageBusContract(name: string, makeBuses: MakeMessageBuses): void {
  describe(`MessageBus contract: ${name}`, () => {
    it('delivers a message to every subscriber of its channel on the other handle, in order', async () => {
      const [a, b] = await makeBuses();
      const channel = uniqueChannel('fanout');
      const first = recorder();
      const second = recorder();
      const offFirst = await b.subscribe(channel, first.listener);
      const offSecond = await b.subscribe(channel, second.listener);
      await a.publish(channel, 'one');
      await a.publish(channel, 'two ünïcødé {"json":true}\n');
      await vi.waitFor(() => expect(second.received).toHaveLength(2), WAIT);
      expect(first.received).toEqual(['one', 'two ünïcødé {"json":true}\n']);
      expect(second.received).toEqual(first.received);
      await offFirst();
      await offSecond();
    });

    it('keeps the order of one publisher’s messages on a channel', async () => {
      const [a, b] = await makeBuses();
      const channel = uniqueChannel('order');
      const heard = recorder();
      const off = await b.subscribe(channel, heard.listener);
      const sent = Array.from({ length: 40 }, (_, i) => `m${i}`);
      for (const message of sent) await a.publish(channel, message);
      await vi.waitFor(() => expect(heard.received).toHaveLength(sent.length), WAIT);
      expect(heard.received).toEqual(sent);
      await off();
    });

    it('is active as soon as subscribe() resolves, on the publishing handle too', async () => {
      const [a] = await makeBuses();
      const channel = uniqueChannel('active');
      const own = recorder();
      const off = await a.subscribe(channel, own.listener);
      await a.publish(channel, 'self');
      await vi.waitFor(() => expect(own.received).toEqual(['self']), WAIT);
      await off();
    });

    it('keeps channels apart', async () => {
      const [a, b] = await makeBuses();
      const left = uniqueChannel('left');
      const right = uniqueChannel('right');
      const onLeft = recorder();
      const onRight = recorder();
      const offLeft = await b.subscribe(left, onLeft.listener);
      const offRight = await b.subscribe(right, onRight.listener);
      await a.publish(left, 'for-left');
      await a.publish(right, 'for-right');
      // Each channel hears its own message only. No order across channels is asserted: on Redis
      // Cluster two publishes may reach the subscriber's node by different paths.
      await vi.waitFor(() => {
        expect(onRight.received).toEqual(['for-right']);
        expect(onLeft.received).toEqual(['for-left']);
      }, WAIT);
      await offLeft();
      await offRight();
    });

    it('stops one listener on unsubscribe and keeps the others of the channel', async () => {
      const [a, b] = await makeBuses();
      const channel = uniqueChannel('refcount');
      const leaving = recorder();
      const staying = recorder();
      const offLeaving = await b.subscribe(channel, leaving.listener);
      const offStaying = await b.subscribe(channel, staying.listener);
      await offLeaving();
      await offLeaving(); // idempotent: must not drop the other subscription's reference
      await a.publish(channel, 'after');
      await vi.waitFor(() => expect(staying.received).toEqual(['after']), WAIT);
      expect(leaving.received).toEqual([]);
      await offStaying();
    });

    it('delivers nothing once the last listener of a channel left', async () => {
      const [a, b] = await makeBuses();
      const gone = uniqueChannel('gone');
      const marker = uniqueChannel('marker');
      const onGone = recorder();
      const onMarker = recorder();
      const offGone = await b.subscribe(gone, onGone.listener);
      const offMarker = await b.subscribe(marker, onMarker.listener);
      await offGone();
      await a.publish(gone, 'lost');
      await a.publish(marker, 'marker');
      await vi.waitFor(() => expect(onMarker.received).toEqual(['marker']), WAIT);
      expect(onGone.received).toEqual([]);
      // Subscribing again works after the channel was dropped. On Redis Cluster a publish
      // reaches the subscriber's node over the cluster bus, and two publishes sent to different
      // nodes may arrive in either order: 'lost' can still be in flight when the new
      // subscription starts, so only 'back' is asserted here (the old listener's silence is
      // what the test above checked).
      const again = recorder();
      const offAgain = await b.subscribe(gone, again.listener);
      await a.publish(gone, 'back');
      await vi.waitFor(() => expect(again.received.filter((message) => message !== 'lost')).toEqual(['back']), WAIT);
      await offAgain();
      await offMarker();
    });

    it('counts the same function subscribed twice as two subscriptions', async () => {
      const [a, b] = await makeBuses();
      const channel = uniqueChannel('twice');
      const both = recorder();
      const offOne = await b.subscribe(channel, both.listener);
      const offTwo = await b.subscribe(channel, both.listener);
      await a.publish(channel, 'x');
      await vi.waitFor(() => expect(both.received).toEqual(['x', 'x']), WAIT);
      await offOne();
      await a.publish(channel, 'y');
      await vi.waitFor(() => expect(both.received).toEqual(['x', 'x', 'y']), WAIT);
      await offTwo();
    });

    it('isolates a throwing listener from the others and from the publisher', async () => {
      const [a, b] = await makeBuses();
      const channel = uniqueChannel('throws');
      const healthy = recorder();
      const offBad = await b.subscribe(channel, () => {
        throw new Error('listener bug');
      });
      const offGood = await b.subscribe(channel, healthy.listener);
      await expect(a.publish(channel, 'still')).resolves.toBeUndefined();
      await a.publish(channel, 'going');
      await vi.waitFor(() => expect(healthy.received).toEqual(['still', 'going']), WAIT);
      await offBad();
      await offGood();
    });

    it('never calls a listener inside publish()', async () => {
      const [a] = await makeBuses();
      const channel = uniqueChannel('async');
      const own = recorder();
      const off = await a.subscribe(channel, own.listener);
      const publishing = a.publish(channel, 'later');
      expect(own.received).toEqual([]);
      await publishing;
      await vi.waitFor(() => expect(own.received).toEqual(['later']), WAIT);
      await off();
    });

    it('resolves a publish nobody listens to', async () => {
      const [a] = await makeBuses();
      await expect(a.publish(uniqueChannel('nobody'), 'void')).resolves.toBeUndefined();
    });
  });
}
