/**
 * `text` with characters of its own. V8 represents a long `slice` of a string as a view into the
 * whole original, which then lives as long as the slice does: a few hundred characters kept from
 * a provider's first network read held that read's kilobytes for the whole turn. A JSON round
 * trip copies exactly (any UTF-16, lone surrogates included); it is for the few strings kept long,
 * not for every token.
 * @internal
 */
export function detachedString(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}
