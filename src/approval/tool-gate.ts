import type { ChatEvent, ToolCall } from '../types.js';

/** What a {@link ToolGate} decided for one call. */
export type GateVerdict = { run: true } | { run: false; reason: string };

/** What a gate gets besides the call. */
export interface GateContext {
  /** The turn's signal: a stopped turn stops waiting. */
  signal?: AbortSignal;
  /** Sends an event to the turn's readers while the call waits (e.g. `tool_approval`). */
  emit(event: ChatEvent): void;
}

/**
 * Decides, per call, whether a tool call of a turn may run, before it runs: the hook tool
 * approval plugs into. A gate may ask the user and wait; calls of one step are gated each on its
 * own and the approved ones run in parallel. A denied call never reaches its server; the model
 * reads `reason` as the tool's error.
 */
export interface ToolGate {
  check(call: ToolCall, context: GateContext): Promise<GateVerdict>;
}
