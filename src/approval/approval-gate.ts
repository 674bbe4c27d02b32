import { type AskBroker, fingerprintOf } from '../asks/ask-broker.js';
import type { SessionBackend } from '../session/session-backend.js';
import { conversationKey } from '../session/session-keys.js';
import type { ToolCall } from '../types.js';
import { decideToolCall, type ToolAnnotationHints, type ToolApprovalRule } from './approval-policy.js';
import type { GateContext, GateVerdict, ToolGate } from './tool-gate.js';

/** The user's answer to a `tool_approval`, as `POST /approve` delivers it. */
export interface ApprovalAnswer {
  decision: 'approve' | 'deny';
  /** The user's words, told to the model with a denial. */
  reason?: string;
  /** `conversation`: approve this tool for the rest of the conversation. */
  scope?: 'once' | 'conversation';
}

/** Options of {@link createApprovalGate}: one turn's view of the host's approval settings. */
export interface ApprovalGateOptions {
  rule: ToolApprovalRule;
  /** Servers (name or URL) whose annotations may waive a need for approval. */
  trustedServers: ReadonlySet<string>;
  broker: AskBroker;
  /** Where tools approved "for the rest of the conversation" are remembered. */
  store: SessionBackend;
  userId: string;
  conversationId: string;
  /**
   * The version of the session the turn runs on: an approval "for the rest of the conversation"
   * holds for the tools of that session only (a reconnect may name another tool the same).
   */
  sessionVersion: string;
  /** False for a non-streaming turn, which cannot ask: "ask" then means deny. */
  canAsk: boolean;
  /** How long a call waits for the user; then it is denied. */
  timeoutMs: number;
  /** How long a "for the rest of the conversation" approval is remembered. */
  rememberMs: number;
  /** The server and annotations of a tool. */
  describeTool(name: string): { server: string; url?: string; annotations: ToolAnnotationHints } | undefined;
}

const MAX_REASON_CHARS = 500;

/**
 * Where a conversation's tools approved "for the rest of the conversation" are remembered (each
 * as `<session version>:<tool>`); deleted with the conversation.
 * @internal
 */
export function approvedToolsKey(userId: string, conversationId: string): string {
  return conversationKey(userId, conversationId, 'approved-tools');
}

/** Denials as the model reads them: why the call did not run, so it can tell the user. */
export const DENIALS = {
  policy: 'This tool call is not allowed by the application, so it was not run.',
  user: 'The user denied this tool call, so it was not run.',
  timeout: 'The user did not approve this tool call in time, so it was not run.',
  cannotAsk:
    "This tool call needs the user's approval, which this request cannot ask for (it is not streamed), so it was not run.",
} as const;

/**
 * The tool gate of tool approval: asks the host's rule about each call and, when it says
 * "ask", sends a `tool_approval` event and waits for `POST /approve` from any process. An
 * answer is bound to the user, the conversation, the call id and the call's exact input, and is
 * used once.
 */
export function createApprovalGate(options: ApprovalGateOptions): ToolGate {
  const rememberedKey = approvedToolsKey(options.userId, options.conversationId);
  const remembered = (tool: string) => `${options.sessionVersion}:${tool}`;
  return {
    async check(call: ToolCall, context: GateContext): Promise<GateVerdict> {
      const described = options.describeTool(call.name);
      const server = described?.server ?? '';
      const annotations = described?.annotations ?? {};
      const decision = await decideToolCall(options.rule, {
        userId: options.userId,
        conversationId: options.conversationId,
        server,
        tool: call.name,
        input: call.arguments,
        annotations,
        trusted:
          options.trustedServers.has(server) ||
          (described?.url !== undefined && options.trustedServers.has(described.url)),
      });
      if (decision === 'allow') return { run: true };
      if (decision === 'deny') return { run: false, reason: DENIALS.policy };
      if ((await options.store.getList(rememberedKey)).includes(remembered(call.name))) return { run: true };
      if (!options.canAsk) return { run: false, reason: DENIALS.cannotAsk };

      const expiresAt = Date.now() + options.timeoutMs;
      const announce = () =>
        context.emit({
          type: 'tool_approval',
          id: call.id,
          tool: call.name,
          input: call.arguments,
          annotations: { ...annotations },
          expires_at: new Date(expiresAt).toISOString(),
        });
      const answer = await options.broker.ask<ApprovalAnswer>(
        {
          kind: 'approval',
          id: call.id,
          userId: options.userId,
          conversationId: options.conversationId,
          fingerprint: fingerprintOf({ tool: call.name, input: call.arguments }),
          expiresAt,
        },
        { timeoutMs: options.timeoutMs, onAsked: announce, ...(context.signal ? { signal: context.signal } : {}) },
      );
      context.signal?.throwIfAborted();
      if (answer === null) return { run: false, reason: DENIALS.timeout };
      if (answer.decision !== 'approve') {
        const reason = typeof answer.reason === 'string' ? answer.reason.slice(0, MAX_REASON_CHARS).trim() : '';
        return { run: false, reason: reason ? `${DENIALS.user} The user said: ${reason}` : DENIALS.user };
      }
      if (answer.scope === 'conversation') {
        await options.store.appendToList(rememberedKey, [remembered(call.name)], {
          ttlMs: options.rememberMs,
          maxLength: 1000,
        });
      }
      return { run: true };
    },
  };
}
