import { LlmChatError } from '../errors.js';

/** What a tool-approval rule says of one call. */
export type ApprovalDecision = 'allow' | 'deny' | 'ask';

/** The MCP tool annotations (hints from the server; untrusted unless the host says otherwise). */
export interface ToolAnnotationHints {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** One tool call as an approval rule sees it. */
export interface ToolCallForApproval {
  /** The authenticated user's id. */
  userId: string;
  /** The conversation the turn runs in. */
  conversationId: string;
  /** The MCP server the tool comes from (its name, else its URL). */
  server: string;
  /** The tool's name as the model saw it. */
  tool: string;
  /** The call's arguments. */
  input: Record<string, unknown>;
  /** The tool's annotations as its server declared them. */
  annotations: ToolAnnotationHints;
  /** Whether the host marked this server as trusted (its annotations may then waive a need). */
  trusted: boolean;
}

/**
 * The `toolApproval` rule of the handler: never ask (the gateway's behaviour), always ask, ask
 * from the tools' MCP annotations, or a function of the call.
 */
export type ToolApprovalRule =
  | 'never'
  | 'always'
  | 'annotations'
  | ((call: ToolCallForApproval) => ApprovalDecision | Promise<ApprovalDecision>);

/**
 * What the annotations alone require, the MCP defaults filled in (a tool that says nothing may
 * be destructive and reach the open world). An untrusted server's hints can add a need, never
 * waive one: claiming `readOnlyHint` costs a hostile server nothing, so only a trusted server's
 * `readOnlyHint: true` (or `destructiveHint: false` with `openWorldHint: false`) lets a call run
 * unasked.
 */
export function annotationsRequireApproval(annotations: ToolAnnotationHints, trusted: boolean): boolean {
  if (!trusted) return true;
  if (annotations.readOnlyHint === true) return false;
  const destructive = annotations.destructiveHint ?? true;
  const openWorld = annotations.openWorldHint ?? true;
  return destructive || openWorld;
}

/**
 * Decides one call by the host's rule. A function's answer is checked (anything but `allow`,
 * `deny` or `ask` is a `CONFIG_INVALID` error, so a typo never lets a call through); a function
 * that throws denies the call.
 */
export async function decideToolCall(rule: ToolApprovalRule, call: ToolCallForApproval): Promise<ApprovalDecision> {
  if (rule === 'never') return 'allow';
  if (rule === 'always') return 'ask';
  if (rule === 'annotations') return annotationsRequireApproval(call.annotations, call.trusted) ? 'ask' : 'allow';
  let decision: unknown;
  try {
    decision = await rule(call);
  } catch {
    return 'deny';
  }
  if (decision === 'allow' || decision === 'deny' || decision === 'ask') return decision;
  throw new LlmChatError('CONFIG_INVALID', "toolApproval must answer 'allow', 'deny' or 'ask'.");
}

/** Checks the `toolApproval` option at start-up. @throws LlmChatError CONFIG_INVALID */
export function assertToolApprovalRule(rule: unknown): asserts rule is ToolApprovalRule {
  if (rule === 'never' || rule === 'always' || rule === 'annotations' || typeof rule === 'function') return;
  throw new LlmChatError('CONFIG_INVALID', "toolApproval must be 'never', 'always', 'annotations' or a function.");
}
