import { pathOfTarget } from './request-target.js';

/**
 * Returns `url` relative to the mount point `prefix`, or `undefined` when `url` is outside it.
 *
 * The match is segment-aware: `/llmchat` owns `/llmchat`, `/llmchat/x` and `/llmchat?q`, not
 * `/llmchatx`. A trailing slash on `prefix` is ignored; an empty prefix (or `/`) owns every URL.
 * A target in absolute form (`http://host/llmchat/x`) is matched by its path.
 */
export function stripMountPrefix(target: string, prefix: string): string | undefined {
  const url = pathOfTarget(target);
  const mount = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (mount === '') return url;
  if (!url.startsWith(mount)) return undefined;
  const rest = url.slice(mount.length);
  if (rest === '') return '/';
  if (rest[0] === '/') return rest;
  return rest[0] === '?' ? `/${rest}` : undefined;
}
