import { randomUUID } from 'node:crypto';
import { repairTranscript } from '../chat/repair-transcript.js';
import { LlmChatError, wrapError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import { MAX_STORED_DEPTH, nestsDeeperThan } from '../internal/json-depth.js';
import { nextEventLoopTurn } from '../internal/next-event-loop-turn.js';
import { createSealer, type Sealer } from '../internal/seal.js';
import { TextMemo } from '../internal/text-memo.js';
import { type StoredTool, storedToolsProblem } from '../mcp/stored-tool.js';
import type { Logger, SessionConfig, TranscriptMessage } from '../types.js';
import { mapConfigSecrets } from './map-config-secrets.js';
import type { SessionBackend } from './session-backend.js';
import { conversationHistoryKey, sessionKeys } from './session-keys.js';
import {
  sessionConfigSchema,
  sessionRecordSchema,
  storedToolListSchema,
  transcriptTurnSchema,
} from './session-schemas.js';
import { SharedToolLists } from './shared-tool-lists.js';
import { withUsableImages } from './stored-images.js';

/** One user's session as the store returns it. */
export interface StoredSession {
  userId: string;
  /**
   * Random, new on every {@link SessionStore.createSession}. A process that cached a connection
   * for an older version knows the user reconnected elsewhere and its cache is stale.
   */
  version: string;
  /** The configuration, secrets in clear text (they are only sealed at rest). */
  config: SessionConfig;
  /** When the session was created, ISO-8601 UTC. */
  createdAt: string;
  /**
   * The tools listed at connect, so a turn can offer them without an MCP connection. Absent in
   * records written by versions that did not remember them, and when the shared list the record
   * names is gone, unreadable or does not fit the session's servers (the tools are then listed
   * from the servers again).
   */
  tools?: readonly StoredTool[];
}

/** A stored record decoded: the session, and the name of its shared tool list when it has one. */
interface DecodedRecord {
  session: StoredSession;
  /** The SHA-256 naming the session's tool list (see `SharedToolLists`); the session carries none itself. */
  toolList?: string;
}

/** Options of {@link SessionStore}. */
export interface SessionStoreOptions {
  /** Idle lifetime of a session; refreshed by every turn. @default 300000 (5 minutes) */
  sessionTtlMs?: number;
  /**
   * Idle lifetime of the chat history; refreshed by every turn. For this long after a session
   * times out, `requireSession` reports `SESSION_EXPIRED` rather than `SESSION_NOT_FOUND`.
   * @default 3600000 (1 hour)
   */
  historyTtlMs?: number;
  /** Turns kept; older whole turns are dropped, so a tool call never loses its result. @default 50 */
  maxHistoryTurns?: number;
  /**
   * Seals secrets of stored configurations (server `authToken`, `headers` and `env` values) with
   * AES-256-GCM, so the backend never holds them in clear text. 32 bytes, or a string whose
   * SHA-256 is the key. A record sealed with another key reads as `SESSION_INVALID`.
   * @default undefined (not sealed)
   */
  sealKey?: string | Uint8Array;
  /** Receives warnings about corrupt records. @default undefined (silent) */
  logger?: Logger;
}

const NOT_FOUND_MESSAGE = 'No active session found. Please connect to a server first.';
const EXPIRED_MESSAGE = 'No active session found: the session expired. Please reconnect.';
const INVALID_MESSAGE = 'The stored session is invalid. Please reconnect.';
const UNAVAILABLE_MESSAGE = 'Session storage is unavailable.';

/**
 * The condition "the user's session still has version `sessionVersion`", as a backend checks it
 * in the same step as a write: the session key, and text the stored record then contains.
 * @internal
 */
export function sessionVersionGuard(userId: string, sessionVersion: string): { key: string; contains: string } {
  // The record is SessionStore's JSON, where the version is written exactly like this.
  return { key: sessionKeys(userId).session, contains: JSON.stringify({ version: sessionVersion }).slice(1, -1) };
}

/**
 * Per-user sessions over a {@link SessionBackend}: the session configuration (validated on
 * read), a configuration version, and the chat history stored as one list entry per turn.
 *
 * A turn's append is atomic and refreshes the history and session TTLs in the same step, so
 * concurrent writers from several processes lose nothing and a plain chat turn on Redis costs
 * one command for the write. Backend failures reject with `BACKEND_UNAVAILABLE`.
 *
 * @example
 * const store = new SessionStore(memoryStorage().sessions, { sessionTtlMs: 600_000 });
 * await store.createSession('alice', { servers: [{ url: 'http://127.0.0.1:8000/mcp' }], model: 'gpt-4o', streaming: true });
 * const session = await store.requireSession('alice');
 * await store.appendTurn('alice', [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }]);
 */
export class SessionStore {
  readonly #backend: SessionBackend;
  readonly #sessionTtlMs: number;
  readonly #historyTtlMs: number;
  readonly #seenTtlMs: number;
  readonly #maxHistoryTurns: number;
  readonly #sealer: Sealer | undefined;
  readonly #logger: Logger | undefined;
  // Every turn reads the session and the history again; most of it is text already decoded.
  readonly #records = new TextMemo<DecodedRecord>(1_000_000);
  readonly #turns = new TextMemo<TranscriptMessage[]>(4_000_000);
  // The tool lists records name, each stored once, and one copy in memory of each distinct list
  // (those records carry themselves too: older versions, a refused shared list).
  readonly #sharedTools: SharedToolLists;
  // Each remembered session, the shared list it was last given and what that made: a turn gets
  // the same object again instead of a copy checked anew (or a warning again).
  readonly #withTools = new WeakMap<StoredSession, { tools: readonly StoredTool[]; given: StoredSession }>();

  constructor(backend: SessionBackend, options: SessionStoreOptions = {}) {
    const { sessionTtlMs = 300_000, historyTtlMs = 3_600_000, maxHistoryTurns = 50 } = options;
    assertPositiveInteger('sessionTtlMs', sessionTtlMs);
    assertPositiveInteger('historyTtlMs', historyTtlMs);
    assertPositiveInteger('maxHistoryTurns', maxHistoryTurns);
    this.#backend = backend;
    this.#sessionTtlMs = sessionTtlMs;
    this.#historyTtlMs = historyTtlMs;
    // The marker outlives the session by historyTtlMs, so for that long after a timeout the user
    // is told the session expired rather than that there never was one.
    this.#seenTtlMs = sessionTtlMs + historyTtlMs;
    this.#maxHistoryTurns = maxHistoryTurns;
    this.#sealer = options.sealKey === undefined ? undefined : createSealer(options.sealKey);
    this.#logger = options.logger;
    // A session not read for a session TTL is gone (turns read it, then touch it), and reads
    // renew a list at most once a session TTL: a list outlives its used sessions by two more
    // session TTLs, and one nobody uses goes soon after its sessions.
    this.#sharedTools = new SharedToolLists(backend, {
      ttlMs: 4 * sessionTtlMs,
      renewAfterMs: sessionTtlMs,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  /**
   * The user's session, or `null` when there is none.
   * @throws LlmChatError `SESSION_INVALID` when the stored record is corrupt, fails validation or
   * was sealed with another key; `BACKEND_UNAVAILABLE` when the backend fails.
   */
  async getSession(userId: string): Promise<StoredSession | null> {
    const raw = await this.#call(() => this.#backend.get(sessionKeys(userId).session));
    return raw === null ? null : this.#decode(userId, raw);
  }

  /**
   * The user's session.
   * @throws LlmChatError `SESSION_EXPIRED` when the user had a session that timed out,
   * `SESSION_NOT_FOUND` when there is none; both details start with `No active session found`.
   */
  async requireSession(userId: string): Promise<StoredSession> {
    return this.#required(userId, await this.getSession(userId));
  }

  /**
   * The user's session (as {@link requireSession}) and one conversation's history (as
   * {@link getHistory}), read together: one command on Redis when the backend can
   * (`getWithList`). Both promises settle; each rejects with its own errors.
   */
  readSessionAndHistory(
    userId: string,
    conversationId?: string,
  ): { session: Promise<StoredSession>; history: Promise<TranscriptMessage[]> } {
    const backend = this.#backend;
    const sessionKey = sessionKeys(userId).session;
    const historyKey = historyKeyOf(userId, conversationId);
    if (backend.getWithList === undefined) {
      return { session: this.requireSession(userId), history: this.getHistory(userId, conversationId) };
    }
    const getWithList = backend.getWithList.bind(backend);
    const both = this.#call(() => getWithList(sessionKey, historyKey));
    return {
      session: both.then(([raw]) => {
        // A turn whose process knows the session's list decodes it in this step, with no await.
        const session = raw === null ? null : this.#decode(userId, raw);
        return session instanceof Promise
          ? session.then((read) => this.#required(userId, read))
          : this.#required(userId, session);
      }),
      history: both.then(([, entries]) => this.#repaired(this.#turnsOf(entries).flat())),
    };
  }

  /** `session`, or the error that says why there is none. */
  async #required(userId: string, session: StoredSession | null): Promise<StoredSession> {
    if (session !== null) return session;
    const seen = await this.#call(() => this.#backend.get(sessionKeys(userId).seen));
    if (seen !== null) throw new LlmChatError('SESSION_EXPIRED', EXPIRED_MESSAGE);
    throw new LlmChatError('SESSION_NOT_FOUND', NOT_FOUND_MESSAGE);
  }

  /**
   * Stores a new session for the user with a new version, replacing any existing one. The
   * history is kept: a caller that wants a fresh conversation calls {@link clearHistory}.
   * `tools`, the tools listed at connect, are stored once for every session that lists the same
   * (the record names the list; see `SharedToolLists`), or in the record itself when the shared
   * list cannot be stored; their size is the caller's to bound (see `fitStoredTools`). The
   * session returned carries the shared, frozen copy of them.
   * @throws LlmChatError `CONFIG_INVALID` when `config` is not a valid `SessionConfig`, or
   * `tools` do not fit it.
   */
  async createSession(
    userId: string,
    config: SessionConfig,
    options: { tools?: readonly StoredTool[] } = {},
  ): Promise<StoredSession> {
    const parsed = sessionConfigSchema.safeParse(config);
    if (!parsed.success) {
      throw new LlmChatError('CONFIG_INVALID', 'The session configuration is invalid.', { cause: parsed.error });
    }
    let tools = options.tools;
    // Checked as a read will check it: a list written in a form its readers refuse would leave
    // the user with no working session (the old one replaced) or one that lists its tools again
    // on every turn.
    if (
      tools !== undefined &&
      (nestsDeeperThan(tools, MAX_STORED_DEPTH) ||
        !storedToolListSchema.safeParse(tools).success ||
        storedToolsProblem(tools, config.servers.length) !== undefined)
    ) {
      throw new LlmChatError('CONFIG_INVALID', 'The tool list does not fit the session configuration.');
    }
    const shared = tools === undefined ? undefined : await this.#storeToolList(tools);
    if (shared !== undefined) tools = shared.tools;
    const session: StoredSession = {
      userId,
      version: randomUUID(),
      config: parsed.data as SessionConfig,
      createdAt: new Date().toISOString(),
      ...(tools === undefined ? {} : { tools }),
    };
    const sealer = this.#sealer;
    const record = {
      v: 1,
      userId,
      version: session.version,
      createdAt: session.createdAt,
      sealed: sealer !== undefined,
      config: sealer === undefined ? session.config : mapConfigSecrets(session.config, (s) => sealer.seal(s)),
      ...(shared !== undefined ? { toolList: { sha256: shared.digest } } : tools === undefined ? {} : { tools }),
    };
    const keys = sessionKeys(userId);
    const text = JSON.stringify(record);
    // The marker first: if the storage refuses the second write (full), what is left is a
    // harmless marker, never a session whose connect was reported as failed.
    await this.#call(() =>
      Promise.all([
        this.#backend.set(keys.seen, '1', this.#seenTtlMs),
        this.#backend.set(keys.session, text, this.#sessionTtlMs),
      ]),
    );
    // Decoded now, as a later read would: the user's first turn after a connect then finds the
    // record already parsed and validated instead of paying for it before its LLM call.
    this.#records.get(text, (written) => this.#decodeRecord(written));
    return session;
  }

  /**
   * Stores `tools` as a shared list; `undefined` when the backend refused it (full, failing): the
   * record then carries its tools itself, as records of older versions do.
   */
  async #storeToolList(
    tools: readonly StoredTool[],
  ): Promise<{ digest: string; tools: readonly StoredTool[] } | undefined> {
    try {
      const shared = await this.#sharedTools.store(tools);
      if (shared === undefined) {
        this.#logger?.warn?.(
          'This process stored its share of new tool lists for now; the session record keeps its tools.',
        );
      }
      return shared;
    } catch {
      this.#logger?.warn?.('Could not store a shared tool list; the session record keeps its tools.');
      return undefined;
    }
  }

  /** Restarts the session's idle timer. Resolves `false` when there is no session. */
  async touchSession(userId: string): Promise<boolean> {
    const keys = sessionKeys(userId);
    const touched = await this.#call(() => this.#touch(keys.session, this.#sessionTtlMs));
    if (touched) await this.#call(() => this.#touch(keys.seen, this.#seenTtlMs));
    return touched;
  }

  /** Deletes the session, its history and its marker. Resolves `true` when a session existed. */
  async deleteSession(userId: string): Promise<boolean> {
    const keys = sessionKeys(userId);
    const [sessions] = await this.#call(() =>
      Promise.all([this.#backend.delete([keys.session]), this.#backend.delete([keys.history, keys.seen])]),
    );
    return sessions > 0;
  }

  /**
   * The chat history, oldest first, flattened from its turns. A corrupt turn entry is skipped
   * (with a logger warning) rather than failing the whole conversation, and the result is
   * repaired into a transcript providers accept (see `repairTranscript`; logged too). Without
   * `conversationId`, the user's default conversation (the only one a gateway client uses).
   */
  async getHistory(userId: string, conversationId?: string): Promise<TranscriptMessage[]> {
    return this.#repaired((await this.getTurns(userId, conversationId)).flat());
  }

  #repaired(messages: TranscriptMessage[]): TranscriptMessage[] {
    // Schema-valid is not enough: a tool result with no call (or a call with no result) makes
    // every provider refuse every later turn.
    const repair = repairTranscript(messages);
    if (repair.droppedResults > 0 || repair.closedCalls > 0) {
      this.#logger?.warn?.('Repaired a chat history that providers would refuse.', {
        droppedResults: repair.droppedResults,
        closedCalls: repair.closedCalls,
      });
    }
    return repair.messages;
  }

  /** The history as stored: one array of messages per turn, oldest turn first. */
  async getTurns(userId: string, conversationId?: string): Promise<TranscriptMessage[][]> {
    return this.#turnsOf(await this.#call(() => this.#backend.getList(historyKeyOf(userId, conversationId))));
  }

  /** The stored entries as turns; a corrupt entry is skipped (and logged), never fatal. */
  #turnsOf(entries: string[]): TranscriptMessage[][] {
    const turns: TranscriptMessage[][] = [];
    entries.forEach((entry, index) => {
      const turn = this.#turns.get(entry, parseTurn);
      if (turn === undefined) this.#logger?.warn?.('Skipped a corrupt chat history entry.', { index });
      else turns.push(turn);
    });
    return turns;
  }

  /**
   * Appends the messages of ONE turn (user message, assistant messages with their tool calls,
   * tool results) as a single entry, drops the oldest turns beyond `maxHistoryTurns`, and
   * refreshes the history and session TTLs, all in one atomic backend step.
   *
   * With `sessionVersion`, the append only happens while the user's session still has that
   * version (checked in the same atomic step): a turn that outlived its session (a reconnect or
   * a disconnect while it ran) never writes into the new conversation, nor re-creates a cleared
   * history. Resolves `false` when nothing was written for that reason.
   */
  async appendTurn(
    userId: string,
    messages: TranscriptMessage[],
    options: { sessionVersion?: string; conversationId?: string } = {},
  ): Promise<boolean> {
    if (messages.length === 0) return true;
    const keys = sessionKeys(userId);
    const { sessionVersion, conversationId } = options;
    const entry = JSON.stringify(messages);
    const appended = await this.#call(() =>
      this.#backend.appendToList(historyKeyOf(userId, conversationId), [entry], {
        ttlMs: this.#historyTtlMs,
        maxLength: this.#maxHistoryTurns,
        touch: [
          { key: keys.session, ttlMs: this.#sessionTtlMs },
          { key: keys.seen, ttlMs: this.#seenTtlMs },
        ],
        ...(sessionVersion === undefined ? {} : { onlyIf: sessionVersionGuard(userId, sessionVersion) }),
      }),
    );
    if (appended === false) return false;
    this.#decodeLater(entry);
    return true;
  }

  /**
   * Decodes a turn just saved, after the current event-loop turn (while its answer is read), so
   * that the conversation's next turn, whose history read always finds this entry newest, does
   * not parse and validate it on its way to the LLM. The same decoder as a read: what is
   * remembered is exactly what a read would have made of the stored text.
   */
  #decodeLater(entry: string): void {
    void nextEventLoopTurn().then(() => this.#turns.prime(entry, parseTurn));
  }

  /** Deletes one conversation's chat history (the default one without `conversationId`), keeping the session. */
  async clearHistory(userId: string, conversationId?: string): Promise<void> {
    await this.#call(() => this.#backend.delete([historyKeyOf(userId, conversationId)]));
  }

  /** The session of a stored record, with its tools (read first when the record names a list this process has not met). */
  #decode(userId: string, raw: string): StoredSession | Promise<StoredSession> {
    const decoded = this.#records.get(raw, (text) => this.#decodeRecord(text));
    if (decoded === undefined) throw this.#invalid('failed validation');
    const { session, toolList } = decoded;
    if (session.userId !== userId) throw this.#invalid('belongs to another user');
    if (toolList === undefined) return session;
    const tools = this.#sharedTools.get(toolList);
    if (tools instanceof Promise) return this.#call(() => tools).then((read) => this.#sessionWith(session, read));
    return this.#sessionWith(session, tools);
  }

  /**
   * `session` with `tools`, the shared list it names (the same object as last time for the same
   * list); without them when the list is gone or does not fit the session's servers (its tools are
   * then listed from the servers again).
   */
  #sessionWith(session: StoredSession, tools: readonly StoredTool[] | undefined): StoredSession {
    if (tools === undefined) return session;
    const last = this.#withTools.get(session);
    if (last?.tools === tools) return last.given;
    const problem = storedToolsProblem(tools, session.config.servers.length);
    if (problem !== undefined) {
      this.#logger?.warn?.('A shared tool list does not fit the session; its tools are listed again.', { problem });
    }
    const given = problem === undefined ? Object.freeze(copyWith(session, { tools })) : session;
    this.#withTools.set(session, { tools, given });
    return given;
  }

  /** Parses, validates and unseals one stored record; throws SESSION_INVALID. */
  #decodeRecord(raw: string): DecodedRecord {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      throw this.#invalid('not JSON', error);
    }
    if (nestsDeeperThan(json, MAX_STORED_DEPTH)) throw this.#invalid('nested too deeply');
    const parsed = sessionRecordSchema.safeParse(json);
    if (!parsed.success) throw this.#invalid('failed validation', parsed.error);
    const record = parsed.data;
    let config = record.config as SessionConfig;
    if (record.sealed) {
      const sealer = this.#sealer;
      if (sealer === undefined) throw this.#invalid('sealed but no sealKey is set');
      try {
        config = mapConfigSecrets(config, (secret) => sealer.open(secret));
      } catch (error) {
        throw this.#invalid('cannot be unsealed with this key', error);
      }
    }
    const session: StoredSession = {
      userId: record.userId,
      version: record.version,
      config,
      createdAt: record.createdAt,
    };
    if (record.tools !== undefined) {
      const problem = storedToolsProblem(record.tools, config.servers.length);
      if (problem !== undefined) throw this.#invalid(problem);
      session.tools = this.#sharedTools.share(JSON.stringify(record.tools), record.tools as StoredTool[]);
    }
    return record.toolList === undefined ? { session } : { session, toolList: record.toolList.sha256 };
  }

  #invalid(reason: string, cause?: unknown): LlmChatError {
    this.#logger?.warn?.('Stored session record is invalid.', { reason });
    return new LlmChatError('SESSION_INVALID', INVALID_MESSAGE, cause === undefined ? {} : { cause });
  }

  async #touch(key: string, ttlMs: number): Promise<boolean> {
    if (this.#backend.touch !== undefined) return this.#backend.touch(key, ttlMs);
    // Fallback for minimal backends; a write racing this one may be overwritten.
    const value = await this.#backend.get(key);
    if (value === null) return false;
    await this.#backend.set(key, value, ttlMs);
    return true;
  }

  async #call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw wrapError(error, 'BACKEND_UNAVAILABLE', UNAVAILABLE_MESSAGE);
    }
  }
}

// The default conversation keeps the key it had before conversations existed.
function historyKeyOf(userId: string, conversationId: string | undefined): string {
  return conversationHistoryKey(userId, conversationId);
}

function parseTurn(entry: string): TranscriptMessage[] | undefined {
  try {
    const json: unknown = JSON.parse(entry);
    if (nestsDeeperThan(json, MAX_STORED_DEPTH)) return undefined;
    const parsed = transcriptTurnSchema.safeParse(json);
    return parsed.success ? withUsableImages(parsed.data as TranscriptMessage[]) : undefined;
  } catch {
    return undefined;
  }
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new LlmChatError('CONFIG_INVALID', `${name} must be a positive integer.`);
  }
}
