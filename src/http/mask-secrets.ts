/** The value shown in place of a secret, as the gateway does. */
export const MASKED_VALUE = '*****';

// The gateway's list, plus the camelCase spellings this library uses.
const SECRET_KEYS = new Set([
  'api_key',
  'apikey',
  'auth_token',
  'authtoken',
  'authorization',
  'proxy-authorization',
  'access_token',
  'refresh_token',
  'client_secret',
  'secret_access_key',
  'session_token',
  'credentials_json',
  'password',
  'private_key',
  'x-api-key',
  'api-key',
  'cookie',
  'token',
  'secret',
]);

/**
 * Returns a deep copy of `value` with every secret replaced by `*****`, at any depth. Every
 * value of a `headers` or `env` object counts as secret, whatever its name.
 * @internal
 */
export function maskSecrets(value: unknown, parentKey = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, parentKey));
  if (typeof value !== 'object' || value === null) return value;
  const hideAll = parentKey === 'headers' || parentKey === 'env';
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const secret = hideAll || SECRET_KEYS.has(key.toLowerCase());
    if (secret && item !== undefined && item !== null && item !== '') out[key] = MASKED_VALUE;
    else out[key] = maskSecrets(item, key.toLowerCase());
  }
  return out;
}

/**
 * Returns `url` with every query value replaced by `*****`. A server URL may carry a key in its
 * query (`?api_key=…`), and `/config` shows the URL to its user: which parameters exist is not
 * secret, their values may be. A URL that does not parse is hidden whole.
 * @internal
 */
export function maskUrlSecrets(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return MASKED_VALUE;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = MASKED_VALUE;
    parsed.password = '';
  }
  if (parsed.search === '') return parsed.href;
  const masked = new URLSearchParams();
  for (const key of parsed.searchParams.keys()) masked.append(key, MASKED_VALUE);
  parsed.search = masked.toString().replaceAll('%2A', '*');
  return parsed.href;
}
