import { LlmChatError } from '../errors.js';
import { conversationUsageKey, usageKey } from '../session/session-keys.js';
import type { TokenUsage } from '../types.js';
import type { CounterAddition, UsageBackend } from './usage-backend.js';
import { toUsageCount } from './usage-counts.js';
import type { ModelPrice, ModelUsage, UsageCounts, UsageReport } from './usage-report.js';

/** Options of {@link UsageLedger}. */
export interface UsageLedgerOptions {
  /** Prices per model registry id; turns counters into `cost`. */
  prices?: Readonly<Record<string, ModelPrice>>;
  /** The currency of the prices, echoed in reports. @default 'USD' */
  currency?: string;
  /** How long day counters are kept (at least 1 ms). @default 40 days */
  dayRetentionMs?: number;
  /** How long month, total and conversation counters are kept after the last write. @default 400 days */
  retentionMs?: number;
}

const DAY_MS = 86_400_000;
// Model fields are `<model id>|<metric>`; user-level fields have no `|`.
const MODEL_METRICS = {
  in: 'input_tokens',
  out: 'output_tokens',
  cached: 'cached_input_tokens',
  cwrite: 'cache_write_input_tokens',
  calls: 'llm_calls',
} as const;
type MetricKey = keyof typeof MODEL_METRICS;

/**
 * Usage per user and per conversation, kept in the storage so every process adds to the same
 * counters: tokens in, out and cached per model, LLM calls, turns and tool calls, over all time,
 * per UTC day and per UTC month. With prices it also reports cost (computed when read, so a
 * price change applies to past usage too).
 *
 * @example
 * // `storage.usage` is optional in `ChatStorage`: the built-in storages have it.
 * const ledger = new UsageLedger(storage.usage!, { prices: { 'gpt-4o': { inputPerMillion: 2.5, outputPerMillion: 10 } } });
 * const report = await ledger.read('alice@example.com');
 * report.month.cost; // this month's spend
 */
export class UsageLedger {
  readonly #backend: UsageBackend;
  readonly #options: UsageLedgerOptions;
  readonly #dayTtlMs: number;
  readonly #ttlMs: number;

  constructor(backend: UsageBackend, options: UsageLedgerOptions = {}) {
    for (const [model, price] of Object.entries(options.prices ?? {})) {
      const values = [
        price.inputPerMillion,
        price.outputPerMillion,
        price.cachedInputPerMillion ?? 0,
        price.cacheWriteInputPerMillion ?? 0,
      ];
      if (!values.every((value) => Number.isFinite(value) && value >= 0)) {
        throw new LlmChatError('CONFIG_INVALID', `The price of model '${model}' must be numbers of at least 0.`);
      }
    }
    this.#backend = backend;
    this.#options = options;
    this.#dayTtlMs = retention('dayRetentionMs', options.dayRetentionMs ?? 40 * DAY_MS);
    this.#ttlMs = retention('retentionMs', options.retentionMs ?? 400 * DAY_MS);
  }

  /**
   * Adds one LLM call's tokens to the user's and the conversation's counters. Each figure is
   * recorded as a whole number in `0..MAX_USAGE_COUNT` (see {@link toUsageCount}), and `tokens`
   * (what budgets read) is the sum of the recorded figures, so the two never disagree.
   */
  recordLlmCall(userId: string, conversationId: string | undefined, modelId: string, usage: TokenUsage): Promise<void> {
    // Clamped before anything is written: a provider's fraction, negative or runaway figure
    // must neither fail the write nor overflow the stored counters for every later call.
    const input = toUsageCount(usage.inputTokens);
    const output = toUsageCount(usage.outputTokens);
    const cached = toUsageCount(usage.cachedInputTokens);
    const cacheWrite = toUsageCount(usage.cacheWriteInputTokens);
    const fields: Record<string, number> = {
      [`${modelId}|in`]: input,
      [`${modelId}|out`]: output,
      [`${modelId}|calls`]: 1,
      tokens: input + output,
    };
    if (cached > 0) fields[`${modelId}|cached`] = cached;
    if (cacheWrite > 0) fields[`${modelId}|cwrite`] = cacheWrite;
    return this.#backend.add(this.#additions(userId, conversationId, fields, new Date()));
  }

  /** Counts one finished turn and its tool calls (clamped as {@link toUsageCount} does). */
  recordTurn(userId: string, conversationId: string | undefined, toolCalls: number): Promise<void> {
    const fields: Record<string, number> = { turns: 1 };
    const tools = toUsageCount(toolCalls);
    if (tools > 0) fields.tool_calls = tools;
    return this.#backend.add(this.#additions(userId, conversationId, fields, new Date()));
  }

  /** Tokens (input + output, all models) the user used today and this month, UTC. */
  async tokensUsed(userId: string, at: Date = new Date()): Promise<{ day: number; month: number }> {
    const [day = {}, month = {}] = await this.#backend.read([this.#dayKey(userId, at), this.#monthKey(userId, at)]);
    return { day: day.tokens ?? 0, month: month.tokens ?? 0 };
  }

  /** The user's usage: all time, today, this month and, when asked, one conversation. */
  async read(userId: string, options: { conversationId?: string; at?: Date } = {}): Promise<UsageReport> {
    const at = options.at ?? new Date();
    const keys = [this.#totalKey(userId), this.#dayKey(userId, at), this.#monthKey(userId, at)];
    if (options.conversationId !== undefined) keys.push(this.#conversationKey(userId, options.conversationId));
    const [total = {}, day = {}, month = {}, conversation] = await this.#backend.read(keys);
    const report: UsageReport = {
      user_id: userId,
      total: this.#counts(total),
      day: { period: dayOf(at), ...this.#counts(day) },
      month: { period: dayOf(at).slice(0, 7), ...this.#counts(month) },
    };
    if (options.conversationId !== undefined) {
      report.conversation = { conversation_id: options.conversationId, ...this.#counts(conversation ?? {}) };
    }
    if (this.#options.prices) report.currency = this.#options.currency ?? 'USD';
    return report;
  }

  #additions(
    userId: string,
    conversationId: string | undefined,
    fields: Record<string, number>,
    at: Date,
  ): CounterAddition[] {
    return [
      { key: this.#totalKey(userId), fields, ttlMs: this.#ttlMs },
      { key: this.#dayKey(userId, at), fields, ttlMs: this.#dayTtlMs },
      { key: this.#monthKey(userId, at), fields, ttlMs: this.#ttlMs },
      { key: this.#conversationKey(userId, conversationId ?? DEFAULT_CONVERSATION), fields, ttlMs: this.#ttlMs },
    ];
  }

  #counts(raw: Record<string, number>): UsageCounts {
    const models: Record<string, ModelUsage> = {};
    for (const [field, value] of Object.entries(raw)) {
      const bar = field.lastIndexOf('|');
      if (bar < 0) continue;
      const metric = MODEL_METRICS[field.slice(bar + 1) as MetricKey];
      if (metric === undefined) continue;
      const model = field.slice(0, bar);
      models[model] ??= {
        input_tokens: 0,
        output_tokens: 0,
        cached_input_tokens: 0,
        cache_write_input_tokens: 0,
        llm_calls: 0,
      };
      models[model][metric] += value;
    }
    const counts: UsageCounts = {
      input_tokens: 0,
      output_tokens: 0,
      cached_input_tokens: 0,
      cache_write_input_tokens: 0,
      llm_calls: 0,
      turns: raw.turns ?? 0,
      tool_calls: raw.tool_calls ?? 0,
      models,
    };
    const prices = this.#options.prices;
    if (prices) counts.cost = 0;
    for (const [model, usage] of Object.entries(models)) {
      counts.input_tokens += usage.input_tokens;
      counts.output_tokens += usage.output_tokens;
      counts.cached_input_tokens += usage.cached_input_tokens;
      counts.cache_write_input_tokens += usage.cache_write_input_tokens;
      counts.llm_calls += usage.llm_calls;
      const price = prices?.[model];
      if (price && counts.cost !== undefined) {
        usage.cost = costOf(usage, price);
        counts.cost += usage.cost;
      }
    }
    return counts;
  }

  // The user's hash tag (session-keys.ts) puts one write's keys in one Redis Cluster slot.
  #totalKey(userId: string): string {
    return usageKey(userId, 'total');
  }

  #dayKey(userId: string, at: Date): string {
    return usageKey(userId, `d:${dayOf(at)}`);
  }

  #monthKey(userId: string, at: Date): string {
    return usageKey(userId, `m:${dayOf(at).slice(0, 7)}`);
  }

  #conversationKey(userId: string, conversationId: string): string {
    return conversationUsageKey(userId, conversationId);
  }
}

/** The conversation a turn without `conversation_id` belongs to (CONTRACT §6). */
const DEFAULT_CONVERSATION = 'default';

function retention(name: string, value: number): number {
  // A NaN or non-positive TTL would make every counter write fail (or never expire).
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
    throw new LlmChatError('CONFIG_INVALID', `usage.${name} must be a number of milliseconds of at least 1.`);
  }
  return value;
}

function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function costOf(usage: ModelUsage, price: ModelPrice): number {
  const cached = Math.min(usage.cached_input_tokens, usage.input_tokens);
  const written = Math.min(usage.cache_write_input_tokens, usage.input_tokens - cached);
  const cost =
    (usage.input_tokens - cached - written) * price.inputPerMillion +
    cached * (price.cachedInputPerMillion ?? price.inputPerMillion) +
    written * (price.cacheWriteInputPerMillion ?? price.inputPerMillion) +
    usage.output_tokens * price.outputPerMillion;
  // Whole micro-units keep float noise out of the reports.
  return Math.round(cost) / 1_000_000;
}
