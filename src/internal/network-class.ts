/**
 * Where a URL's host sits, as far as its spelling tells: `localhost` and literal IP addresses
 * are classified, every other DNS name counts as `public` (nothing is resolved here).
 * - `loopback`: `localhost`, `*.localhost`, 127.0.0.0/8, ::1;
 * - `private`: 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT), fc00::/7, fec0::/10;
 * - `link-local`: 169.254/16 (cloud metadata services live there), fe80::/10;
 * - `reserved`: 0/8, 224/4 and above, ::, ff00::/8 (unspecified, multicast, broadcast);
 * - `public`: anything else.
 * @internal
 */
export type NetworkClass = 'public' | 'loopback' | 'private' | 'link-local' | 'reserved';

/**
 * The {@link NetworkClass} of a hostname as `URL.hostname` spells it (lower case, IPv4 in dotted
 * decimal, IPv6 in brackets). IPv4 addresses embedded in IPv6 ones (mapped, compatible, NAT64)
 * count as the IPv4 address.
 * @internal
 */
export function networkClassOf(hostname: string): NetworkClass {
  const host = hostname.replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  if (host.startsWith('[') && host.endsWith(']')) return ipv6Class(host.slice(1, -1));
  const ipv4 = parseIpv4(host);
  return ipv4 ? ipv4Class(ipv4) : 'public';
}

function parseIpv4(host: string): number[] | undefined {
  const parts = host.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part))) return undefined;
  const octets = parts.map(Number);
  return octets.every((octet) => octet <= 255) ? octets : undefined;
}

function ipv4Class([a = 0, b = 0]: number[]): NetworkClass {
  if (a === 127) return 'loopback';
  if (a === 0 || a >= 224) return 'reserved';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 100 && b >= 64 && b <= 127) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  return 'public';
}

function ipv6Class(literal: string): NetworkClass {
  const words = parseIpv6(literal);
  if (!words) return 'reserved';
  const [first = 0] = words;
  const zeros = (count: number) => words.slice(0, count).every((word) => word === 0);
  if (zeros(7) && words[7] === 1) return 'loopback';
  if (zeros(8)) return 'reserved';
  // ::a.b.c.d (compatible), ::ffff:a.b.c.d (mapped), 64:ff9b::a.b.c.d (NAT64): the IPv4 address decides.
  const nat64 = first === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((word) => word === 0);
  if (zeros(6) || (zeros(5) && words[5] === 0xffff) || nat64) return ipv4Class(embeddedIpv4(words));
  if ((first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfec0) return 'private';
  if ((first & 0xffc0) === 0xfe80) return 'link-local';
  if ((first & 0xff00) === 0xff00) return 'reserved';
  return 'public';
}

// `URL` has already written the address in hex words (an embedded IPv4 address included).
function parseIpv6(literal: string): number[] | undefined {
  const halves = literal.split('::');
  if (halves.length > 2) return undefined;
  const words = (half: string | undefined) => (half ? half.split(':').map((word) => Number.parseInt(word, 16)) : []);
  const head = words(halves[0]);
  const tail = words(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const all = [...head, ...Array<number>(missing).fill(0), ...tail];
  return all.every((word) => Number.isInteger(word) && word >= 0 && word <= 0xffff) ? all : undefined;
}

function embeddedIpv4(words: number[]): number[] {
  const high = words[6] ?? 0;
  const low = words[7] ?? 0;
  return [high >> 8, high & 0xff, low >> 8, low & 0xff];
}
