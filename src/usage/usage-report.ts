/** What one model used, in a {@link UsageCounts}. Field names are those of `GET /usage`. */
export interface ModelUsage {
  input_tokens: number;
  output_tokens: number;
  /** Input tokens served from the provider's prompt cache (included in `input_tokens`). */
  cached_input_tokens: number;
  /** Input tokens written to the provider's prompt cache (included in `input_tokens`; Anthropic, Bedrock). */
  cache_write_input_tokens: number;
  /** LLM calls made (a turn with tool rounds makes several). */
  llm_calls: number;
  /** Cost from the host's prices; absent when the model has no price. */
  cost?: number;
}

/** Usage over one period or one conversation. */
export interface UsageCounts extends Omit<ModelUsage, 'cost'> {
  turns: number;
  tool_calls: number;
  /** Sum of the priced models' costs; absent when no prices are configured. */
  cost?: number;
  /** Per model (registry id). */
  models: Record<string, ModelUsage>;
}

/** A user's usage, as `UsageLedger.read` and `GET /usage/:user_id` return it. */
export interface UsageReport {
  user_id: string;
  /** Everything recorded for the user (kept while the user is active). */
  total: UsageCounts;
  /** Today, UTC (`period` is `YYYY-MM-DD`). */
  day: UsageCounts & { period: string };
  /** This month, UTC (`period` is `YYYY-MM`). */
  month: UsageCounts & { period: string };
  /** One conversation, when asked for. */
  conversation?: UsageCounts & { conversation_id: string };
  /** The currency of `cost`, when prices are configured. */
  currency?: string;
}

/** Prices of one model, per million tokens. */
export interface ModelPrice {
  inputPerMillion: number;
  outputPerMillion: number;
  /** Price of cached input tokens. @default inputPerMillion */
  cachedInputPerMillion?: number;
  /** Price of input tokens written to the cache. @default inputPerMillion */
  cacheWriteInputPerMillion?: number;
}
