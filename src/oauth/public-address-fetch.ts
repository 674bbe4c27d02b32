import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type * as Undici from 'undici';
import { LlmChatError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import { type NetworkClass, networkClassOf } from '../internal/network-class.js';
import { importUndiciAgent } from '../llm/undici-post.js';
import type { FetchLike } from '../types.js';

/** Every address a host name resolves to, as `dns.lookup(name, { all: true })` answers. @internal */
export type ResolveAll = (hostname: string) => Promise<readonly LookupAddress[]>;

/** Options of {@link createPublicAddressFetch}. @internal */
export interface PublicAddressFetchOptions {
  /** Resolves host names (tests give a fake one). @default `dns.lookup` with `all: true` */
  resolve?: ResolveAll;
}

/**
 * The fetch of the OAuth requests whose URL was allowed only because its host name reads as
 * public (see `guardOAuthFetch`), when the host gave no `fetch` of its own.
 * @internal
 */
export interface PublicAddressFetch {
  /**
   * A fetch for the OAuth requests of an MCP server on `serverNetwork`: it connects only to
   * public addresses and to addresses of `serverNetwork` (a loopback server may use a loopback
   * authorization server, as with literal addresses); any other address a name resolves to
   * fails the request with `SERVER_NOT_ALLOWED`. Redirects are refused.
   */
  forServer(serverNetwork: NetworkClass): FetchLike;
  /** Closes the connections kept open; a later request opens new ones. */
  close(): Promise<void>;
}

/**
 * A {@link PublicAddressFetch} over connection pools of its own (one undici `Agent` for each kind
 * of MCP server network, made at its first request), whose connect step resolves the name and
 * checks every address before connecting: the address checked is the one connected to, so a
 * name that answers a public address to a check and a private one to the connection (DNS
 * rebinding) gains nothing. Requests go over the global `fetch` with the agent as dispatcher, so
 * answers are the global `Response` the MCP SDK expects. Idle connections do not keep the
 * process alive (undici unrefs them). Where undici cannot load (a runtime without `node:net`),
 * requests go over the global `fetch` unchecked, as before: that runtime's network is its own.
 * @internal
 */
export function createPublicAddressFetch(options: PublicAddressFetchOptions = {}): PublicAddressFetch {
  const agents = new Map<NetworkClass, Promise<Undici.Agent | undefined>>();
  const agentFor = (network: NetworkClass): Promise<Undici.Agent | undefined> => {
    let agent = agents.get(network);
    if (!agent) {
      agent = createAgent(network, options.resolve);
      agents.set(network, agent);
    }
    return agent;
  };
  return {
    forServer: (network) => async (input, init) => fetchOver(await agentFor(network), input, init),
    async close() {
      const open = [...agents.values()];
      agents.clear();
      await Promise.all(open.map(async (agent) => (await agent)?.close()));
    },
  };
}

/**
 * The `lookup` of a connection: resolves every address of the name and refuses the connection
 * (with an error {@link createPublicAddressFetch}'s fetch turns into `SERVER_NOT_ALLOWED`) when
 * any is neither public nor of `serverNetwork`. Answers as `net.connect` asks (one address, or
 * all of them), keeping to the family it asks for.
 * @internal
 */
export function checkedLookup(resolve: ResolveAll, serverNetwork: NetworkClass): LookupFunction {
  return (hostname, options, callback) => {
    checkedAddresses(resolve, hostname, serverNetwork, options.family).then(
      (addresses) => {
        const [first] = addresses as [LookupAddress];
        if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

/**
 * The {@link NetworkClass} of an address as `dns.lookup` spells it, undefined when it cannot be
 * read. IPv6 goes through `URL` first, which writes it as `networkClassOf` reads it (hex words:
 * `::ffff:127.0.0.1` becomes `[::ffff:7f00:1]`); a scoped one (`fe80::1%eth0`) is not readable.
 * @internal
 */
export function addressClassOf(address: string): NetworkClass | undefined {
  if (!address.includes(':')) return networkClassOf(address);
  try {
    return networkClassOf(new URL(`http://[${address}]/`).hostname);
  } catch {
    return undefined;
  }
}

/** Why a connection was refused; only {@link refusedAddress} makes it. */
class AddressRefused extends Error {}

async function checkedAddresses(
  resolve: ResolveAll,
  hostname: string,
  serverNetwork: NetworkClass,
  family: number | string | undefined,
): Promise<LookupAddress[]> {
  const addresses = await resolve(hostname);
  // Every address, not only the one connected to: net.connect may try the others (happy eyeballs).
  for (const { address } of addresses) {
    const network = addressClassOf(address);
    if (network !== 'public' && (network === undefined || network !== serverNetwork)) throw refusedAddress();
  }
  const wanted = family === 4 || family === 'IPv4' ? 4 : family === 6 || family === 'IPv6' ? 6 : undefined;
  const usable = addresses.filter((entry) => wanted === undefined || entry.family === wanted);
  if (usable.length === 0) throw Object.assign(new Error('No address found for the host name.'), { code: 'ENOTFOUND' });
  return usable;
}

// Neither the name nor the address goes in the message: the error may reach the user.
function refusedAddress(): AddressRefused {
  return new AddressRefused('The host name resolves to an address that is not allowed.');
}

async function createAgent(network: NetworkClass, resolve: ResolveAll | undefined): Promise<Undici.Agent | undefined> {
  let Agent: typeof Undici.Agent;
  let resolveAll: ResolveAll;
  try {
    [Agent, resolveAll] = await Promise.all([importUndiciAgent(), resolve ?? systemResolver()]);
  } catch {
    // Not loadable here (a runtime without node:net or node:dns): the global fetch decides.
    return undefined;
  }
  return new Agent({ connect: { lookup: checkedLookup(resolveAll, network) } });
}

async function systemResolver(): Promise<ResolveAll> {
  // Imported here: the core must load where node:dns does not exist.
  const dns = await import('node:dns');
  return (hostname) => dns.promises.lookup(hostname, { all: true });
}

async function fetchOver(
  agent: Undici.Agent | undefined,
  input: string | URL,
  init: RequestInit | undefined,
): Promise<Response> {
  // Redirects are refused here too: a followed one would go past the OAuth URL policy.
  const request = copyWith(init ?? {}, { redirect: 'error' as const, window: null });
  if (!agent) return globalThis.fetch(input, request);
  try {
    return await globalThis.fetch(input, copyWith(request, { dispatcher: agent }));
  } catch (error) {
    if (causedByRefusal(error)) {
      throw new LlmChatError(
        'SERVER_NOT_ALLOWED',
        'The MCP server named an OAuth endpoint whose host name resolves to a private network address.',
      );
    }
    throw error;
  }
}

// fetch wraps the connect error ("fetch failed", its cause); a few levels are plenty.
function causedByRefusal(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof AddressRefused) return true;
    current = current.cause;
  }
  return false;
}
