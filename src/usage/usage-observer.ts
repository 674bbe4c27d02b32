import type { TurnHooks, TurnInfo, TurnObserver } from '../telemetry/turn-observer.js';
import type { Logger } from '../types.js';
import type { UsageLedger } from './usage-ledger.js';

/** Options of {@link usageObserver}. */
export interface UsageObserverOptions {
  /**
   * Called before each LLM call of a turn, once the turn's earlier usage is written; rejecting
   * (for example with `BUDGET_EXCEEDED`) ends the turn before the call.
   */
  beforeLlmCall?: (round: number, info: TurnInfo) => Promise<void>;
  /** Hears about counters that could not be written (the turn goes on). */
  logger?: Logger;
}

/**
 * Records every turn into a {@link UsageLedger}: each LLM call's tokens as the call ends, and
 * the turn with its tool calls when it ends. Writes of one turn are kept in order, and a
 * failed write is logged, never turned into a failed turn.
 * @internal
 */
export function usageObserver(ledger: UsageLedger, options: UsageObserverOptions = {}): TurnObserver {
  return {
    startTurn(info: TurnInfo): TurnHooks {
      let writes: Promise<void> = Promise.resolve();
      let toolCalls = 0;
      const write = (record: () => Promise<void>) => {
        writes = writes.then(record).catch((error: unknown) => {
          options.logger?.warn?.('could not record usage', { error: String(error) });
        });
      };
      return {
        async llmCall(call) {
          if (options.beforeLlmCall) {
            // The previous call's tokens count against the budget before the next call starts.
            await writes;
            await options.beforeLlmCall(call.round, info);
          }
          return {
            end(result) {
              const usage = result.usage;
              if (usage) write(() => ledger.recordLlmCall(info.userId, info.conversationId, info.modelId, usage));
            },
          };
        },
        toolCall() {
          toolCalls += 1;
          return undefined;
        },
        end() {
          write(() => ledger.recordTurn(info.userId, info.conversationId, toolCalls));
        },
      };
    },
  };
}
