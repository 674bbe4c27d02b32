/**
 * The text a model without vision reads in place of the images a tool returned, so it knows
 * they exist without receiving them.
 */
export function imageNote(count: number): string {
  return `[The tool returned ${count} image${count === 1 ? '' : 's'}, not shown: this model does not accept images.]`;
}
