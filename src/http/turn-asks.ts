import { createApprovalGate } from '../approval/approval-gate.js';
import type { ToolGate } from '../approval/tool-gate.js';
import type { Elicitor } from '../elicitation/elicitation-relay.js';
import { createElicitationRelay } from '../elicitation/elicitation-relay.js';
import type { ToolSource } from '../mcp/tool-source.js';
import type { HandlerContext } from './handler-context.js';

/** The tool gate and elicitation relay of one turn, per the host's settings. @internal */
export interface TurnAsks {
  toolGate?: ToolGate;
  elicitor?: Elicitor;
}

/**
 * What one turn may ask its user: a tool-approval gate unless the rule is `never`, and an
 * elicitation relay when the host turned elicitation on. A non-streaming turn cannot ask: its
 * "ask" becomes a denial and its elicitations are cancelled.
 * @internal
 */
export function turnAsks(
  context: HandlerContext,
  turn: { userId: string; conversationId: string; sessionVersion: string; streaming: boolean; tools: ToolSource },
): TurnAsks {
  const settings = context.askSettings;
  const asks: TurnAsks = {};
  if (settings.approvalRule !== 'never') {
    asks.toolGate = createApprovalGate({
      rule: settings.approvalRule,
      trustedServers: settings.trustedServers,
      broker: context.asks,
      store: context.asks.store,
      userId: turn.userId,
      conversationId: turn.conversationId,
      sessionVersion: turn.sessionVersion,
      canAsk: turn.streaming,
      timeoutMs: settings.approvalTimeoutMs,
      rememberMs: context.settings.historyTtlMs,
      describeTool: (name) => turn.tools.describeTool?.(name),
    });
  }
  if (settings.elicitation) {
    asks.elicitor = createElicitationRelay({
      broker: context.asks,
      userId: turn.userId,
      conversationId: turn.conversationId,
      canAsk: turn.streaming,
      timeoutMs: settings.elicitationTimeoutMs,
    });
  }
  return asks;
}
