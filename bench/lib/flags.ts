/** Command-line flags of the bench scripts. */

/**
 * The positive number after `name` (`--streams 200`) in this process's arguments; `fallback` when
 * the flag is absent or not followed by a positive number.
 */
export function numberFlag(name: string, fallback: number, argv: readonly string[] = process.argv.slice(2)): number {
  const at = argv.indexOf(name);
  const value = at >= 0 ? Number(argv[at + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
