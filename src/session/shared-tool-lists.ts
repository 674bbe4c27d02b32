import { createHash } from 'node:crypto';
import { z } from 'zod';
import { deepFreeze } from '../internal/deep-freeze.js';
import { SingleFlight } from '../internal/single-flight.js';
import type { StoredTool } from '../mcp/stored-tool.js';
import type { Logger } from '../types.js';
import type { SessionBackend } from './session-backend.js';
import { toolListKey } from './session-keys.js';
import { storedToolSchema } from './session-schemas.js';

/** Options of {@link SharedToolLists}. @internal */
export interface SharedToolListsOptions {
  /** How long a stored list lives after it was written or last renewed. */
  ttlMs: number;
  /** A list read at least this long after its last renewal here gets its TTL renewed. */
  renewAfterMs: number;
  /** The most characters of list JSON this process remembers decoded. @default 1_000_000 */
  maxChars?: number;
  logger?: Logger;
}

/** A list this process knows: its JSON as stored, the list decoded (frozen), and when its TTL was last renewed from here. */
interface KnownList {
  json: string;
  tools: readonly StoredTool[];
  renewedAt: number;
}

const toolListSchema = z.array(storedToolSchema);

/**
 * The tool lists of sessions, each stored once under the SHA-256 of its JSON (`toolListKey`)
 * rather than once in every session record.
 *
 * The users of a deployment mostly connect to the same servers, and a real server's tool list
 * (names, descriptions, input schemas) is tens of kilobytes of JSON: kept in every record, it
 * weighed that much a connected user in the storage, and on Redis every turn read it again with
 * the record. A record now names its list; this process remembers lists it read or wrote, so a
 * turn reads one only the first time the process meets it.
 *
 * A list is written at connect and lives `ttlMs`; every read in a process renews it (at most
 * once each `renewAfterMs`), so it outlives the sessions that name it as long as they are used.
 * A list that is gone (expired, evicted, deleted) or is not what its name says reads as none: the
 * session then lists its tools from its servers, as a session stored without tools always did.
 * @internal
 */
export class SharedToolLists {
  readonly #backend: SessionBackend;
  readonly #ttlMs: number;
  readonly #renewAfterMs: number;
  readonly #maxChars: number;
  readonly #logger: Logger | undefined;
  /** By digest, oldest first: evicted by the characters of their JSON. */
  readonly #known = new Map<string, KnownList>();
  #chars = 0;
  // The first turns on a process all need the lists at once (a restart, a takeover): one read each.
  readonly #reads = new SingleFlight<readonly StoredTool[] | undefined>();

  constructor(backend: SessionBackend, options: SharedToolListsOptions) {
    this.#backend = backend;
    this.#ttlMs = options.ttlMs;
    this.#renewAfterMs = options.renewAfterMs;
    this.#maxChars = options.maxChars ?? 1_000_000;
    this.#logger = options.logger;
  }

  /**
   * Stores `tools` (unless this process wrote or renewed it lately) and returns its digest and
   * the shared, frozen copy sessions get. Rejects as the backend does.
   */
  async store(tools: readonly StoredTool[]): Promise<{ digest: string; tools: readonly StoredTool[] }> {
    const json = JSON.stringify(tools);
    const digest = digestOf(json);
    const known = this.#known.get(digest);
    const now = performance.now();
    if (known !== undefined && now - known.renewedAt < this.#renewAfterMs) return { digest, tools: known.tools };
    await this.#backend.set(toolListKey(digest), json, this.#ttlMs);
    // What a read would make of it: the same JSON, decoded.
    const list = known ?? this.#remember(digest, json, JSON.parse(json) as StoredTool[]);
    list.renewedAt = now;
    return { digest, tools: list.tools };
  }

  /**
   * The list named `digest`: at once when this process knows it, else read from the backend
   * (`undefined` when it is gone or is not what its name says). Rejects as the backend does.
   */
  get(digest: string): readonly StoredTool[] | undefined | Promise<readonly StoredTool[] | undefined> {
    const known = this.#known.get(digest);
    if (known === undefined) return this.#reads.run(digest, () => this.#read(digest));
    if (performance.now() - known.renewedAt >= this.#renewAfterMs) this.#renew(digest, known);
    return known.tools;
  }

  async #read(digest: string): Promise<readonly StoredTool[] | undefined> {
    const json = await this.#backend.get(toolListKey(digest));
    if (json === null) {
      this.#logger?.warn?.('A stored tool list is gone; its sessions list their tools again.', { digest });
      return undefined;
    }
    const tools = decodeList(json, digest);
    if (tools === undefined) {
      this.#logger?.warn?.('A stored tool list is corrupt; its sessions list their tools again.', { digest });
      return undefined;
    }
    // Its TTL is unknown here: renewed now, as any read does once in a while.
    const known = this.#remember(digest, json, tools);
    this.#renew(digest, known);
    return known.tools;
  }

  /** Renews the list's TTL in the background; one that vanished meanwhile is written again. */
  #renew(digest: string, known: KnownList): void {
    known.renewedAt = performance.now();
    const key = toolListKey(digest);
    const backend = this.#backend;
    // Started a microtask later: a backend that throws at once fails this renewal, not the read.
    Promise.resolve()
      .then(() => (backend.touch ? backend.touch(key, this.#ttlMs) : false))
      .then((found) => (found ? undefined : backend.set(key, known.json, this.#ttlMs)))
      .catch(() => {
        // Tried again on a later read; until it works the list may expire, and its sessions list their tools.
        known.renewedAt = Number.NEGATIVE_INFINITY;
        this.#logger?.warn?.('Could not renew a stored tool list.', { digest });
      });
  }

  #remember(digest: string, json: string, tools: StoredTool[]): KnownList {
    deepFreeze(tools);
    const known: KnownList = { json, tools, renewedAt: Number.NEGATIVE_INFINITY };
    if (json.length > this.#maxChars) return known;
    this.#known.set(digest, known);
    this.#chars += json.length;
    for (const [oldest, list] of this.#known) {
      if (this.#chars <= this.#maxChars) break;
      this.#known.delete(oldest);
      this.#chars -= list.json.length;
    }
    return known;
  }
}

/** The hex SHA-256 of a list's JSON: its name. */
function digestOf(json: string): string {
  return createHash('sha256').update(json, 'utf8').digest('hex');
}

/** The list in `json` when it is what `digest` names and a valid list; else `undefined`. */
function decodeList(json: string, digest: string): StoredTool[] | undefined {
  if (digestOf(json) !== digest) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const result = toolListSchema.safeParse(parsed);
  return result.success ? (result.data as StoredTool[]) : undefined;
}
