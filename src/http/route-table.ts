/** A matched route: its name and the decoded path parameter, if any. @internal */
export interface RouteMatch<TName extends string> {
  name: TName;
  param?: string;
}

/** One route: a method and a path of literal segments, where `:param` takes one segment. */
export interface RouteSpec<TName extends string> {
  name: TName;
  method: string;
  path: string;
}

/** What {@link matchRoute} found. @internal */
export type RouteLookup<TName extends string> =
  | { kind: 'match'; route: RouteMatch<TName> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

/**
 * Matches a path (relative to the mount point) against a small route table. No framework
 * router: the table has a handful of fixed shapes, and this keeps the core host-free.
 * @internal
 */
export function matchRoute<TName extends string>(
  routes: readonly RouteSpec<TName>[],
  method: string,
  pathname: string,
): RouteLookup<TName> {
  const segments = pathname.split('/').filter((segment) => segment !== '');
  const allow: string[] = [];
  for (const route of routes) {
    const pattern = route.path.split('/').filter((segment) => segment !== '');
    if (pattern.length !== segments.length) continue;
    let param: string | undefined;
    let matched = true;
    for (let i = 0; i < pattern.length; i++) {
      const expected = pattern[i] as string;
      const actual = segments[i] as string;
      if (expected.startsWith(':')) {
        const decoded = safeDecode(actual);
        if (decoded === null) {
          matched = false;
          break;
        }
        param = decoded;
      } else if (expected !== actual) {
        matched = false;
        break;
      }
    }
    if (!matched) continue;
    if (route.method === method || (route.method === 'GET' && method === 'HEAD')) {
      return { kind: 'match', route: param === undefined ? { name: route.name } : { name: route.name, param } };
    }
    allow.push(route.method);
  }
  return allow.length > 0 ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
