import { createHash } from 'node:crypto';
import { deepFreeze } from '../internal/deep-freeze.js';
import { MAX_STORED_DEPTH, nestsDeeperThan } from '../internal/json-depth.js';
import { SingleFlight } from '../internal/single-flight.js';
import { MAX_STORED_TOOLS_CHARS, type StoredTool } from '../mcp/stored-tool.js';
import type { Logger } from '../types.js';
import type { SessionBackend } from './session-backend.js';
import { toolListKey } from './session-keys.js';
import { storedToolListSchema } from './session-schemas.js';

/** Options of {@link SharedToolLists}. @internal */
export interface SharedToolListsOptions {
  /** How long a stored list lives after it was written or last renewed. */
  ttlMs: number;
  /** A list read at least this long after its last renewal here gets its TTL renewed. */
  renewAfterMs: number;
  /** The most characters of list JSON this process remembers decoded. @default twice the largest list a session keeps */
  maxChars?: number;
  /**
   * The most characters of new lists this process stores within `ttlMs`; past it a connect keeps
   * its tools in its record (`store` resolves `undefined`), so servers that list something new
   * on every connect cannot fill the storage with lists for a TTL. @default 16 M
   */
  maxNewCharsPerTtl?: number;
  logger?: Logger;
}

/** A list this process knows: its JSON as stored, the list decoded (frozen), and when its TTL was last renewed from here. */
interface KnownList {
  json: string;
  tools: readonly StoredTool[];
  renewedAt: number;
}

/** Lists remembered as gone or corrupt, at most. */
const MAX_MISSING = 1000;

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
  readonly #maxNewChars: number;
  readonly #logger: Logger | undefined;
  /** The lists this process wrote first within the last TTL: when, and how many characters. */
  readonly #written: Array<{ at: number; chars: number }> = [];
  #writtenChars = 0;
  /** Lists found gone or corrupt lately, by digest: until when a read is not tried again. */
  readonly #missing = new Map<string, number>();
  /** By digest, oldest first: evicted by the characters of their JSON. */
  readonly #known = new Map<string, KnownList>();
  #chars = 0;
  // The first turns on a process all need the lists at once (a restart, a takeover): one read each.
  readonly #reads = new SingleFlight<readonly StoredTool[] | undefined>();

  constructor(backend: SessionBackend, options: SharedToolListsOptions) {
    this.#backend = backend;
    this.#ttlMs = options.ttlMs;
    this.#renewAfterMs = options.renewAfterMs;
    this.#maxChars = options.maxChars ?? 2 * MAX_STORED_TOOLS_CHARS;
    this.#maxNewChars = options.maxNewCharsPerTtl ?? 16 * 1024 * 1024;
    this.#logger = options.logger;
  }

  /**
   * Stores `tools` (unless this process wrote or renewed it lately) and returns its digest and
   * the shared, frozen copy sessions get; `undefined` when this process stored its share of new
   * lists for now (`maxNewCharsPerTtl`). Rejects as the backend does.
   */
  async store(tools: readonly StoredTool[]): Promise<{ digest: string; tools: readonly StoredTool[] } | undefined> {
    const json = JSON.stringify(tools);
    const digest = digestOf(json);
    const known = this.#known.get(digest);
    const now = performance.now();
    if (known !== undefined && now - known.renewedAt < this.#renewAfterMs) return { digest, tools: known.tools };
    if (known === undefined && !this.#mayWriteNew(json.length, now)) return undefined;
    await this.#backend.set(toolListKey(digest), json, this.#ttlMs);
    this.#missing.delete(digest);
    // What a read would make of it: the same JSON, decoded.
    const list = known ?? this.#remember(digest, json, JSON.parse(json) as StoredTool[]);
    list.renewedAt = now;
    return { digest, tools: list.tools };
  }

  /**
   * The one copy this process keeps of a list a record carries itself (older versions, a refused
   * shared list), so equal lists in many records are one list in memory; `tools` (decoded from
   * `json`) when it is too long to keep.
   */
  share(json: string, tools: StoredTool[]): readonly StoredTool[] {
    return this.#remember(digestOf(json), json, tools).tools;
  }

  /**
   * The list named `digest`: at once when this process knows it, else read from the backend
   * (`undefined` when it is gone or is not what its name says). Rejects as the backend does.
   */
  get(digest: string): readonly StoredTool[] | undefined | Promise<readonly StoredTool[] | undefined> {
    const known = this.#known.get(digest);
    if (known === undefined) {
      const missingUntil = this.#missing.get(digest);
      if (missingUntil !== undefined && performance.now() < missingUntil) return undefined;
      return this.#reads.run(digest, () => this.#read(digest));
    }
    if (performance.now() - known.renewedAt >= this.#renewAfterMs) this.#renew(digest, known);
    return known.tools;
  }

  async #read(digest: string): Promise<readonly StoredTool[] | undefined> {
    const json = await this.#backend.get(toolListKey(digest));
    if (json === null) return this.#miss(digest, 'A stored tool list is gone; its sessions list their tools again.');
    const known = this.#rememberRead(digest, json);
    if (known === undefined) {
      return this.#miss(digest, 'A stored tool list is corrupt; its sessions list their tools again.');
    }
    // Its TTL is unknown here: renewed now, as any read does once in a while.
    this.#renew(digest, known);
    return known.tools;
  }

  /** The list read for `digest`, remembered; `undefined` when it is not that list, or not a valid one. */
  #rememberRead(digest: string, json: string): KnownList | undefined {
    const tools = decodeList(json, digest);
    return tools === undefined ? undefined : this.#remember(digest, json, tools);
  }

  /** Notes a list gone or corrupt: not read again (nor warned about) for a while. */
  #miss(digest: string, warning: string): undefined {
    this.#logger?.warn?.(warning, { digest });
    this.#missing.delete(digest);
    this.#missing.set(digest, performance.now() + this.#renewAfterMs);
    // Bounded: digests come from records, and only the newest misses matter.
    for (const [oldest] of this.#missing) {
      if (this.#missing.size <= MAX_MISSING) break;
      this.#missing.delete(oldest);
    }
    return undefined;
  }

  /** Whether a new list of `chars` fits this process's share of new lists in the last TTL (counted when it does). */
  #mayWriteNew(chars: number, now: number): boolean {
    const written = this.#written;
    while (written.length > 0 && now - (written[0] as { at: number }).at >= this.#ttlMs) {
      this.#writtenChars -= (written.shift() as { chars: number }).chars;
    }
    if (this.#writtenChars + chars > this.#maxNewChars) return false;
    written.push({ at: now, chars });
    this.#writtenChars += chars;
    return true;
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
    // Stored or read twice at once (concurrent connects, a read and a connect): one entry, counted once.
    const already = this.#known.get(digest);
    if (already !== undefined) return already;
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
  if (nestsDeeperThan(parsed, MAX_STORED_DEPTH)) return undefined;
  const result = storedToolListSchema.safeParse(parsed);
  return result.success ? (result.data as StoredTool[]) : undefined;
}
