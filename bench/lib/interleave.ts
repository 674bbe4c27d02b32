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

/** Runs `warmup` unrecorded rounds, then `rounds` recorded ones; returns each variant's samples. */
export async function interleave<T>(
  variants: readonly Variant<T>[],
  rounds: number,
  warmup: number,
): Promise<Record<string, T[]>> {
  const samples: Record<string, T[]> = {};
  for (const variant of variants) samples[variant.name] = [];
  for (let round = 0; round < warmup + rounds; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length] as Variant<T>;
      const value = await variant.run();
      if (round >= warmup) samples[variant.name]?.push(value);
    }
  }
  return samples;
}
