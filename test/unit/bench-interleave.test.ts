import { describe, expect, it } from 'vitest';
import { balancedOrders, interleave } from '../../bench/lib/interleave.js';

/** How often each ordered pair (a right before b) occurs inside the orders. */
function followCounts(orders: number[][]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const order of orders) {
    for (let i = 1; i < order.length; i++) {
      const key = `${order[i - 1]}>${order[i]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

describe('bench interleave: balanced orders (Williams design)', () => {
  for (const n of [2, 3, 4, 5, 6, 7, 8]) {
    it(`${n} variants: each order is a permutation, every position and every predecessor is balanced`, () => {
      const orders = balancedOrders(n);
      expect(orders).toHaveLength(n % 2 === 0 ? n : 2 * n);
      for (const order of orders) expect([...order].sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
      for (let position = 0; position < n; position++) {
        const atPosition = orders.map((order) => order[position]);
        for (let variant = 0; variant < n; variant++) {
          expect(atPosition.filter((v) => v === variant)).toHaveLength(orders.length / n);
        }
      }
      const counts = followCounts(orders);
      // Every ordered pair of distinct variants, the same number of times (1 for even n, 2 for odd).
      expect(counts.size).toBe(n * (n - 1));
      expect(new Set(counts.values())).toEqual(new Set([n % 2 === 0 ? 1 : 2]));
    });
  }

  it('a plain rotation would not be balanced (the property the design fixes)', () => {
    const rotation = [0, 1, 2, 3].map((shift) => [0, 1, 2, 3].map((v) => (v + shift) % 4));
    expect(followCounts(rotation).size).toBeLessThan(12);
  });

  it('interleave runs every variant once per round and skips the warm-up rounds in the samples', async () => {
    const ran: string[] = [];
    const variant = (name: string) => ({ name, run: async () => ran.push(name) });
    const samples = await interleave([variant('a'), variant('b'), variant('c'), variant('d')], 4, 2);
    expect(ran).toHaveLength(24);
    for (const name of ['a', 'b', 'c', 'd']) expect(samples[name]).toHaveLength(4);
    const recorded = ran.slice(8);
    const orders = [0, 1, 2, 3].map((round) =>
      recorded.slice(round * 4, round * 4 + 4).map((n) => n.charCodeAt(0) - 97),
    );
    expect(orders).toEqual(balancedOrders(4));
  });
});
