/**
 * The limits one user gets. Every limit is optional; an absent one does not apply. A given one
 * must be a whole number (at least 1; budgets at least 0, where 0 refuses every turn), else
 * `CONFIG_INVALID`: at start-up for `limits`, on the request for what `forRequest` returns.
 */
export interface UserLimits {
  /**
   * Chat requests (`POST /chat`) per fixed window. The window starts with the user's first
   * request in it and lasts `windowMs` (whole seconds; rate-limiter-flexible's fixed window).
   */
  requests?: { limit: number; windowMs: number };
  /** Chat turns (streamed or not, queued ones included) one user may have open at once. */
  concurrentStreams?: number;
  /** Tokens (input + output, all models) per UTC day. Needs usage accounting (turned on by it). */
  tokensPerDay?: number;
  /** Tokens (input + output, all models) per UTC calendar month. */
  tokensPerMonth?: number;
}

/** What {@link LimitsOptions.forRequest} receives. */
export interface LimitRequestContext {
  /** The user `authenticate` returned (a `ChatUser`; written out here so the modules stay acyclic). */
  user: { id: string; [key: string]: unknown };
  request: Request;
}

/** The `limits` option of `createChatHandler`: defaults for every user, and a per-request say. */
export interface LimitsOptions extends UserLimits {
  /**
   * Decides per request (plan tiers, exempt admins): return the limits for this user, `null` to
   * exempt the request, or `undefined` for the defaults above. A throw answers 500, and so do
   * limits that are not usable numbers (`CONFIG_INVALID`: the request is refused, not let through).
   */
  forRequest?: (context: LimitRequestContext) => UserLimits | null | undefined | Promise<UserLimits | null | undefined>;
  /** Lease of a stream slot; renewed while the turn runs, so a dead process frees it after this long. @default 30000 */
  slotTtlMs?: number;
}
