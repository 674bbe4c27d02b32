/**
 * Runs several variants of one measurement side by side: round after round, each variant once
 * per round, in the orders of a balanced Latin square (a Williams design), so drift of a noisy
 * machine and order effects fall on every variant alike. A plain rotation (ABC, BCA, CAB…) is
 * not enough: it keeps the cyclic order, so B nearly always runs right after A, and whatever A
 * leaves behind (an idle server process, a cold cache, garbage to collect) lands on B alone.
 */

/** One contender: `run` performs one turn and returns its measurement. */
export interface Variant<T> {
  name: string;
  run: () => Promise<T>;
}

/**
 * Variant names to run (`--variants a,b` of `npm run bench`, for profiling one path); empty
 * runs every variant.
 */
export const variantFilter = new Set<string>();

/**
 * The orders of `n` variants in a Williams design: every variant takes every position equally
 * often, and runs right after every other variant exactly once per cycle (n orders for an even
 * `n`, 2n for an odd one, where the square is followed by its mirror image).
 */
export function balancedOrders(n: number): number[][] {
  if (n < 1) return [];
  // 0, n-1, 1, n-2, 2, …: the steps between neighbours are distinct modulo n (for an even n).
  const first = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? i / 2 : n - (i + 1) / 2));
  const square = Array.from({ length: n }, (_, shift) => first.map((variant) => (variant + shift) % n));
  return n % 2 === 0 ? square : [...square, ...square.map((order) => [...order].reverse())];
}

/** Runs `warmup` unrecorded rounds, then `rounds` recorded ones; returns each variant's samples. */
export async function interleave<T>(
  variants: readonly Variant<T>[],
  rounds: number,
  warmup: number,
): Promise<Record<string, T[]>> {
  const chosen = variantFilter.size > 0 ? variants.filter((variant) => variantFilter.has(variant.name)) : variants;
  const samples: Record<string, T[]> = {};
  for (const variant of chosen) samples[variant.name] = [];
  const orders = balancedOrders(chosen.length);
  for (let round = 0; round < warmup + rounds; round++) {
    // Recorded rounds start the design afresh, so that each full cycle of it is balanced.
    const order = orders[(round < warmup ? round : round - warmup) % orders.length] ?? [];
    for (const index of order) {
      const variant = chosen[index] as Variant<T>;
      const value = await variant.run();
      if (round >= warmup) samples[variant.name]?.push(value);
    }
  }
  return samples;
}
