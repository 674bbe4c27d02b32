import type { FinishReason, LlmRequest } from '../llm/llm-provider.js';
import type { TokenUsage } from '../types.js';

/** What a turn is about, given to {@link TurnObserver.startTurn}. */
export interface TurnInfo {
  /** The authenticated user the turn runs for. */
  userId: string;
  /** The model's registry id (what clients send as `llm.model`). */
  modelId: string;
  /** The conversation, when the turn names one. */
  conversationId?: string;
  /** Whether the answer is streamed (SSE) or returned whole. */
  streaming: boolean;
  /** The user's message. Observers that record contents must be told so by the host. */
  message: string;
}

/** One LLM call of a turn, given to {@link TurnHooks.llmCall}. */
export interface LlmCallInfo {
  /** The provider kind (`openai`, `anthropic`, …). */
  provider: string;
  /** The provider's model name. */
  model: string;
  /** 0 for the first call of the turn, then one more per round of tool calls. */
  round: number;
  /** The request about to be sent. */
  request: LlmRequest;
}

/** How one LLM call ended, given to {@link LlmCallHooks.end}. */
export interface LlmCallResult {
  /** Token counts the provider reported for this call, when it did. */
  usage?: TokenUsage;
  /** The answer text of this call. */
  text: string;
  /** How many tool calls the model asked for. */
  toolCalls: number;
  /** Why the model stopped, when the call finished. */
  finishReason?: FinishReason;
  /** Set when the call failed or was stopped. */
  error?: unknown;
}

/** Per-call hooks returned by {@link TurnHooks.llmCall}. */
export interface LlmCallHooks {
  /** Extra HTTP headers for this call (for example W3C `traceparent`). */
  headers?: Record<string, string>;
  /** The first text of the answer arrived. */
  firstToken?(): void;
  /** The call ended (successfully or not). */
  end?(result: LlmCallResult): void;
}

/** One tool call of a turn, given to {@link TurnHooks.toolCall}. */
export interface ToolCallInfo {
  id: string;
  /** The name the model called: one the session offers, or one it made up (see `listed`). */
  name: string;
  arguments: Record<string, unknown>;
  /**
   * Whether the session offers a tool of this name. `false`: the model made the name up, so it
   * is the model's text, of any length, and not a fit for a metric attribute. Unset by callers
   * that cannot tell.
   */
  listed?: boolean;
}

/** How one tool call ended. */
export interface ToolCallResult {
  /** The tool reported an error, or the call failed. */
  isError: boolean;
  /** What the model reads back. */
  text?: string;
  /** Set when the call could not complete (timeout, server gone, stopped). */
  error?: unknown;
}

/** Per-call hooks returned by {@link TurnHooks.toolCall}. */
export interface ToolCallHooks {
  /** Sent as the MCP request's `params._meta` (for example W3C `traceparent`). */
  meta?: Record<string, unknown>;
  /** The call ended. */
  end?(result: ToolCallResult): void;
}

/** How a turn ended, given to {@link TurnHooks.end}. */
export type TurnOutcome =
  | { status: 'final'; text: string }
  /** `ABORTED` turns (a stop, a client gone) are `stopped`, not `error`. */
  | { status: 'stopped'; text: string }
  /** `code` is the `error` event's code (an `ErrorCode`). */
  | { status: 'error'; code: string; text: string };

/**
 * Hooks of one running turn, called by `ChatService`. Every hook is optional and synchronous,
 * except `llmCall`, which may return a promise and may reject with an `LlmChatError` to end the
 * turn before the call (for example `BUDGET_EXCEEDED`); the turn then ends with that `error`
 * and its partial answer is saved. Hooks must not throw otherwise: `ChatService` lets a throw end
 * the turn. The handler guards the host's `telemetry` observer, so there a hook that throws is
 * logged (`a turn observer failed`, with the hook's name) and skipped, and the turn goes on.
 */
export interface TurnHooks {
  /** Before each LLM call. */
  llmCall?(call: LlmCallInfo): LlmCallHooks | undefined | Promise<LlmCallHooks | undefined>;
  /** When a tool call starts. */
  toolCall?(call: ToolCallInfo): ToolCallHooks | undefined;
  /** Once, when the turn's last event is known. */
  end?(outcome: TurnOutcome): void;
}

/**
 * Watches turns: tracing, metrics, usage accounting and budgets are all observers. The handler
 * calls `startTurn` when a turn begins and passes the hooks to `ChatService`. With no observer
 * nothing is called at all.
 */
export interface TurnObserver {
  /** A turn begins; returns its hooks, or nothing to skip it. */
  startTurn(info: TurnInfo): TurnHooks | undefined;
}

/**
 * One observer made of several, called in order. Headers and `_meta` of every observer are
 * merged (later ones win). `undefined` when none is given, so callers skip all work.
 */
export function combineObservers(observers: readonly (TurnObserver | undefined)[]): TurnObserver | undefined {
  const present = observers.filter((observer): observer is TurnObserver => observer !== undefined);
  if (present.length <= 1) return present[0];
  return {
    startTurn(info) {
      const all = present.map((observer) => observer.startTurn(info)).filter((hooks) => hooks !== undefined);
      return all.length <= 1 ? all[0] : combineHooks(all);
    },
  };
}

function combineHooks(all: TurnHooks[]): TurnHooks {
  return {
    async llmCall(call) {
      const calls: LlmCallHooks[] = [];
      try {
        for (const hooks of all) {
          const callHooks = await hooks.llmCall?.(call);
          if (callHooks) calls.push(callHooks);
        }
      } catch (error) {
        // A later observer refused the call: the earlier ones saw it start, so they see it end.
        for (const hooks of calls) hooks.end?.({ text: '', toolCalls: 0, error });
        throw error;
      }
      const headers = Object.assign({}, ...calls.map((hooks) => hooks.headers));
      return {
        firstToken: () => {
          for (const hooks of calls) hooks.firstToken?.();
        },
        end: (result) => {
          for (const hooks of calls) hooks.end?.(result);
        },
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
      };
    },
    toolCall(call) {
      const calls = all.map((hooks) => hooks.toolCall?.(call)).filter((hooks) => hooks !== undefined);
      const meta = Object.assign({}, ...calls.map((hooks) => hooks.meta));
      return {
        ...(Object.keys(meta).length > 0 ? { meta } : {}),
        end: (result) => {
          for (const hooks of calls) hooks.end?.(result);
        },
      };
    },
    end(outcome) {
      for (const hooks of all) hooks.end?.(outcome);
    },
  };
}
