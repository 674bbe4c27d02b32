import { isLlmChatError } from '../errors.js';
import { isSendableHeaderValue } from '../internal/header-value.js';
import type { LlmCallHooks, ToolCallHooks, TurnHooks, TurnObserver } from './turn-observer.js';

/** Told which hook of a guarded observer threw, and what. */
export type ObserverFailure = (hook: string, error: unknown) => void;

/**
 * The host's observer, unable to break a turn. Telemetry is not something a turn depends on:
 * a hook that throws (a bug, an exporter in a bad state) is reported and skipped, and the turn,
 * the history it saves and the other observers (usage accounting, budgets) go on as if that
 * hook had not been there. One thing passes through, as `TurnHooks` documents: `llmCall`
 * rejecting with an `LlmChatError` refuses the call and ends the turn with that error.
 * @internal
 */
export function guardObserver(observer: TurnObserver, onFailure: ObserverFailure): TurnObserver {
  // Reporting can fail too (an error whose `toString` throws, a logger that does).
  const report: ObserverFailure = (hook, error) => {
    try {
      onFailure(hook, error);
    } catch {
      // Nothing is left to tell.
    }
  };
  return {
    startTurn(info) {
      const hooks = attempt(report, 'startTurn', () => observer.startTurn(info));
      return hooks ? guardTurnHooks(hooks, report) : undefined;
    },
  };
}

function guardTurnHooks(hooks: TurnHooks, report: ObserverFailure): TurnHooks {
  const guarded: TurnHooks = {};
  if (hooks.llmCall) {
    guarded.llmCall = async (call) => {
      let callHooks: LlmCallHooks | undefined;
      try {
        callHooks = await hooks.llmCall?.(call);
      } catch (error) {
        // Branded, not `instanceof`: an error of another copy of the library (its CJS build,
        // another version) is a refusal all the same.
        if (isLlmChatError(error)) throw error;
        report('llmCall', error);
        return undefined;
      }
      return callHooks ? guardLlmCallHooks(callHooks, report) : undefined;
    };
  }
  if (hooks.toolCall) {
    guarded.toolCall = (call) => {
      const callHooks = attempt(report, 'toolCall', () => hooks.toolCall?.(call));
      return callHooks ? guardToolCallHooks(callHooks, report) : undefined;
    };
  }
  if (hooks.end) guarded.end = (outcome) => attempt(report, 'end', () => hooks.end?.(outcome));
  return guarded;
}

function guardLlmCallHooks(hooks: LlmCallHooks, report: ObserverFailure): LlmCallHooks {
  const guarded: LlmCallHooks = {};
  const headers = attempt(report, 'llmCall headers', () => fetchableHeaders(hooks.headers, report));
  if (headers) guarded.headers = headers;
  if (hooks.firstToken) guarded.firstToken = () => attempt(report, 'firstToken', () => hooks.firstToken?.());
  if (hooks.end) guarded.end = (result) => attempt(report, 'llmCall end', () => hooks.end?.(result));
  return guarded;
}

function guardToolCallHooks(hooks: ToolCallHooks, report: ObserverFailure): ToolCallHooks {
  const guarded: ToolCallHooks = {};
  if (hooks.meta !== undefined) guarded.meta = hooks.meta;
  if (hooks.end) guarded.end = (result) => attempt(report, 'toolCall end', () => hooks.end?.(result));
  return guarded;
}

/**
 * The headers an observer asked for that fetch will take: a value that is not a string, or a
 * name or value fetch refuses (a line break, a non-token name), would fail the LLM call itself,
 * so it is reported and left out.
 */
function fetchableHeaders(
  headers: Record<string, string> | undefined,
  report: ObserverFailure,
): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string' && HEADER_NAME.test(name) && isSendableHeaderValue(value)) kept[name] = value;
    else report('llmCall headers', new TypeError(`header ${JSON.stringify(name.slice(0, 64))} is not valid`));
  }
  return kept;
}

// RFC 9110 §5.1 token: what fetch takes as a header name.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function attempt<T>(report: ObserverFailure, hook: string, run: () => T): T | undefined {
  try {
    return run();
  } catch (error) {
    report(hook, error);
    return undefined;
  }
}
