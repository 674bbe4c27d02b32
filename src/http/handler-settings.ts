import { LlmChatError } from '../errors.js';
import type { ChatHandlerOptions } from './chat-handler-options.js';

/**
 * The defaults of every numeric and enumerated option of `createChatHandler`, in one frozen
 * table: the only place a default is written down. @internal
 */
export const HANDLER_DEFAULTS = Object.freeze({
  basePath: '/',
  maxToolRounds: 10,
  sessionTtlMs: 300_000,
  historyTtlMs: 3_600_000,
  maxHistoryTurns: 50,
  lockTtlMs: 30_000,
  turnPolicy: 'reject',
  turnQueueTimeoutMs: 30_000,
  maxConcurrentConversations: Number.POSITIVE_INFINITY,
  maxConversations: 1000,
  turnTimeoutMs: 600_000,
  turnRetentionMs: 600_000,
  maxTurnEvents: 10_000,
  maxBodyBytes: 1024 * 1024,
  keepAliveMs: 15_000,
  connectionIdleMs: 300_000,
  maxConnections: 1000,
  toolTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  maxResultChars: 20_000,
} as const);

/** The options of a handler after defaults and validation: every value present and checked. @internal */
export interface HandlerSettings {
  readonly maxToolRounds: number;
  readonly sessionTtlMs: number;
  readonly historyTtlMs: number;
  readonly maxHistoryTurns: number;
  readonly lockTtlMs: number;
  readonly turnPolicy: 'reject' | 'queue';
  readonly turnQueueTimeoutMs: number;
  /** `Infinity` when unlimited. */
  readonly maxConcurrentConversations: number;
  /** Conversations one user may keep, the default one not counted; `Infinity` when unlimited. */
  readonly maxConversations: number;
  readonly turnTimeoutMs: number;
  readonly turnRetentionMs: number;
  readonly maxTurnEvents: number;
  readonly maxBodyBytes: number;
  readonly keepAliveMs: number;
  readonly connectionIdleMs: number;
  readonly maxConnections: number;
  readonly toolTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxResultChars: number;
}

// setTimeout fires at once for delays above 2^31 - 1 ms: such a "timeout" would not be one.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Applies the defaults and checks every option once, at start-up, so a bad value is a
 * `CONFIG_INVALID` from `createChatHandler` and never a failure in the middle of a turn (where it
 * could leave a lock or a connection behind).
 * @throws LlmChatError `CONFIG_INVALID` naming the option.
 * @internal
 */
export function resolveHandlerSettings(options: ChatHandlerOptions): HandlerSettings {
  if (options === null || typeof options !== 'object') {
    throw new LlmChatError('CONFIG_INVALID', 'createChatHandler needs an options object.');
  }
  const d = HANDLER_DEFAULTS;
  checkShapes(options);
  const mcp = optionalObject('mcp', options.mcp);
  const connections = optionalObject('connections', options.connections);
  const turnPolicy = options.turnPolicy ?? d.turnPolicy;
  if (turnPolicy !== 'reject' && turnPolicy !== 'queue') {
    throw new LlmChatError('CONFIG_INVALID', "turnPolicy must be 'reject' or 'queue'.");
  }
  return Object.freeze({
    maxToolRounds: count('maxToolRounds', options.maxToolRounds ?? d.maxToolRounds, 0),
    sessionTtlMs: duration('sessionTtlMs', options.sessionTtlMs ?? d.sessionTtlMs, 1),
    historyTtlMs: duration('historyTtlMs', options.historyTtlMs ?? d.historyTtlMs, 1),
    maxHistoryTurns: count('maxHistoryTurns', options.maxHistoryTurns ?? d.maxHistoryTurns, 1),
    lockTtlMs: duration('lockTtlMs', options.lockTtlMs ?? d.lockTtlMs, 1),
    turnPolicy,
    turnQueueTimeoutMs: duration('turnQueueTimeoutMs', options.turnQueueTimeoutMs ?? d.turnQueueTimeoutMs, 0),
    maxConcurrentConversations: cap(
      'maxConcurrentConversations',
      options.maxConcurrentConversations ?? d.maxConcurrentConversations,
    ),
    maxConversations: cap('maxConversations', options.maxConversations ?? d.maxConversations),
    turnTimeoutMs: duration('turnTimeoutMs', options.turnTimeoutMs ?? d.turnTimeoutMs, 1),
    turnRetentionMs: duration('turnRetentionMs', options.turnRetentionMs ?? d.turnRetentionMs, 1),
    maxTurnEvents: count('maxTurnEvents', options.maxTurnEvents ?? d.maxTurnEvents, 2),
    maxBodyBytes: count('maxBodyBytes', options.maxBodyBytes ?? d.maxBodyBytes, 1),
    keepAliveMs: duration('keepAliveMs', options.keepAliveMs ?? d.keepAliveMs, 0),
    connectionIdleMs: duration('connections.idleMs', connections?.idleMs ?? d.connectionIdleMs, 1),
    maxConnections: count('connections.max', connections?.max ?? d.maxConnections, 1),
    toolTimeoutMs: duration('mcp.toolTimeoutMs', mcp?.toolTimeoutMs ?? d.toolTimeoutMs, 1),
    connectTimeoutMs: duration('mcp.connectTimeoutMs', mcp?.connectTimeoutMs ?? d.connectTimeoutMs, 1),
    maxResultChars: count('mcp.maxResultChars', mcp?.maxResultChars ?? d.maxResultChars, 1),
  });
}

/** The non-numeric options: each the type it must be, so none fails later when first used. */
function checkShapes(options: ChatHandlerOptions): void {
  if (typeof options.authenticate !== 'function') {
    throw new LlmChatError('CONFIG_INVALID', 'createChatHandler needs an authenticate function.');
  }
  for (const name of ['serverAuth', 'fetch'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new LlmChatError('CONFIG_INVALID', `${name} must be a function.`);
    }
  }
  for (const name of ['basePath', 'systemPrompt'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'string') {
      throw new LlmChatError('CONFIG_INVALID', `${name} must be a string.`);
    }
  }
  optionalObject('logger', options.logger);
  const storage = optionalObject('storage', options.storage);
  if (storage !== undefined && (typeof storage.sessions !== 'object' || typeof storage.locks !== 'object')) {
    throw new LlmChatError('CONFIG_INVALID', 'storage must be a storage (memoryStorage() or redisStorage(…)).');
  }
  const mcp = optionalObject('mcp', options.mcp);
  // The MCP client applies its own defaults to these; a value given here must still be usable.
  if (mcp?.maxImageBytes !== undefined) count('mcp.maxImageBytes', mcp.maxImageBytes, 0);
  for (const name of ['maxMessageBytes', 'maxToolsPerServer', 'maxToolSchemaChars'] as const) {
    if (mcp?.[name] !== undefined) count(`mcp.${name}`, mcp[name], 1);
  }
  const llm = optionalObject('llm', options.llm);
  if (llm !== undefined) {
    // The provider applies its own defaults; a value given here must still be usable.
    if (llm.firstChunkTimeoutMs !== undefined) duration('llm.firstChunkTimeoutMs', llm.firstChunkTimeoutMs, 1);
    if (llm.totalTimeoutMs !== undefined) duration('llm.totalTimeoutMs', llm.totalTimeoutMs, 1);
    if (llm.maxRetries !== undefined) count('llm.maxRetries', llm.maxRetries, 0);
    if (llm.retryDelayMs !== undefined) duration('llm.retryDelayMs', llm.retryDelayMs, 0);
    if (llm.maxRetryAfterMs !== undefined) duration('llm.maxRetryAfterMs', llm.maxRetryAfterMs, 0);
    if (llm.fetch !== undefined && typeof llm.fetch !== 'function') {
      throw new LlmChatError('CONFIG_INVALID', 'llm.fetch must be a function.');
    }
  }
}

function optionalObject<T>(name: string, value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') {
    throw new LlmChatError('CONFIG_INVALID', `${name} must be an object.`);
  }
  return value;
}

function duration(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new LlmChatError(
      'CONFIG_INVALID',
      `${name} must be a number of milliseconds from ${min} to ${MAX_TIMER_MS}.`,
    );
  }
  return value;
}

/** A whole number of at least 1, or `Infinity` for no cap. */
function cap(name: string, value: unknown): number {
  return value === Number.POSITIVE_INFINITY ? value : count(name, value, 1);
}

function count(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new LlmChatError('CONFIG_INVALID', `${name} must be a whole number of at least ${min}.`);
  }
  return value;
}
