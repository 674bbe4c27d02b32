/**
 * The union of space-separated scope lists, in first-seen order; undefined when empty. A step-up
 * asks for what the user already granted plus what the server now wants, so the new token does
 * not lose the scopes earlier calls needed.
 * @internal
 */
export function unionOfScopes(...lists: (string | undefined)[]): string | undefined {
  const scopes = new Set<string>();
  for (const list of lists) {
    for (const scope of list?.split(' ') ?? []) if (scope !== '') scopes.add(scope);
  }
  return scopes.size > 0 ? [...scopes].join(' ') : undefined;
}
