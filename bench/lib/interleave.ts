/**
 * Runs several variants of one measurement side by side: round after round, each variant once
 * per round, the order rotated every round (ABC, BCA, CAB…), so drift of a noisy machine and
 * order effects fall on every variant alike.
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

/** Runs `warmup` unrecorded rounds, then `rounds` recorded ones; returns each variant's samples. */
export async function interleave<T>(
  variants: readonly Variant<T>[],
  rounds: number,
  warmup: number,
): Promise<Record<string, T[]>> {
  const chosen = variantFilter.size > 0 ? variants.filter((variant) => variantFilter.has(variant.name)) : variants;
  const samples: Record<string, T[]> = {};
  for (const variant of chosen) samples[variant.name] = [];
  for (let round = 0; round < warmup + rounds; round++) {
    for (let i = 0; i < chosen.length; i++) {
      const variant = chosen[(round + i) % chosen.length] as Variant<T>;
      const value = await variant.run();
      if (round >= warmup) samples[variant.name]?.push(value);
    }
  }
  return samples;
}
