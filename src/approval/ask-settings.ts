import { LlmChatError } from '../errors.js';
import { assertToolApprovalRule, type ToolApprovalRule } from './approval-policy.js';

/** The `toolApproval` option in its long form. */
export interface ToolApprovalOptions {
  /** Never ask, always ask, ask from the tools' MCP annotations, or a function of the call. */
  rule: ToolApprovalRule;
  /**
   * Servers (by name or URL) whose annotations are believed, so `readOnlyHint` can waive a need
   * for approval. Other servers' annotations can only add one. @default []
   */
  trustedServers?: readonly string[];
  /** How long a call waits for the user; no answer in time is a denial. @default 300000 (5 minutes) */
  timeoutMs?: number;
}

/** The `elicitation` option in its long form. */
export interface ElicitationOptions {
  /** How long a server's question waits for the user; no answer in time is `cancel`. @default 120000 */
  timeoutMs?: number;
}

/** The resolved approval and elicitation settings of a handler. @internal */
export interface AskSettings {
  readonly approvalRule: ToolApprovalRule;
  readonly trustedServers: ReadonlySet<string>;
  readonly approvalTimeoutMs: number;
  readonly elicitation: boolean;
  readonly elicitationTimeoutMs: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Resolves `toolApproval` and `elicitation` once, at start-up.
 * @throws LlmChatError `CONFIG_INVALID` naming the option.
 * @internal
 */
export function resolveAskSettings(options: {
  toolApproval?: ToolApprovalRule | ToolApprovalOptions;
  elicitation?: boolean | ElicitationOptions;
}): AskSettings {
  const approval =
    options.toolApproval === undefined || typeof options.toolApproval !== 'object'
      ? { rule: options.toolApproval ?? 'never' }
      : options.toolApproval;
  assertToolApprovalRule(approval.rule);
  const trusted = approval.trustedServers ?? [];
  if (!Array.isArray(trusted) || !trusted.every((entry) => typeof entry === 'string')) {
    throw new LlmChatError('CONFIG_INVALID', 'toolApproval.trustedServers must be a list of server names or URLs.');
  }
  const elicitation = options.elicitation ?? false;
  if (typeof elicitation !== 'boolean' && (elicitation === null || typeof elicitation !== 'object')) {
    throw new LlmChatError('CONFIG_INVALID', 'elicitation must be true, false or { timeoutMs }.');
  }
  return Object.freeze({
    approvalRule: approval.rule,
    trustedServers: new Set(trusted),
    approvalTimeoutMs: timeout('toolApproval.timeoutMs', approval.timeoutMs ?? 300_000),
    elicitation: elicitation !== false,
    elicitationTimeoutMs: timeout(
      'elicitation.timeoutMs',
      (typeof elicitation === 'object' ? elicitation.timeoutMs : undefined) ?? 120_000,
    ),
  });
}

function timeout(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new LlmChatError(
      'CONFIG_INVALID',
      `${name} must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}.`,
    );
  }
  return value;
}
