import type { InterruptedTurn } from '../chat/chat-service.js';
import { DEFAULT_CONVERSATION_ID } from '../conversations/conversation-id.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import type { TextSink } from '../llm/llm-provider.js';
import type { ToolSource } from '../mcp/tool-source.js';
import { conversationTurnLockKey } from '../session/session-keys.js';
import { fencedHistory, savedTurnId } from '../turns/fenced-history.js';
import { rebuildTurn } from '../turns/rebuild-turn.js';
import { isStopReason, type ResumedTurnState } from '../turns/running-turn.js';
import { type LatestTurn, type RecordedEvent, TERMINAL_EVENTS, type TurnLog, type TurnRef } from '../turns/turn-log.js';
import type { OwnerWatchdog } from '../turns/turn-manager.js';
import type { ChatEvent, ToolMessage } from '../types.js';
import type { ChatUser } from './chat-handler-options.js';
import { acquireLive, type HandlerContext } from './handler-context.js';
import { turnAsks } from './turn-asks.js';
import { TurnScope } from './turn-scope.js';

/** The result a tool call cut off mid-way gets when repeating it may not be safe. @internal */
export const INTERRUPTED_CALL_MESSAGE =
  'The tool call was interrupted when the server running it stopped, and was not repeated because it may not be safe to run twice.';
const CANNOT_CONTINUE_MESSAGE = 'The chat turn was interrupted and cannot be continued.';

/** Who asks for a takeover: the request touching the conversation, and its user. @internal */
export interface TakeoverRequest {
  context: HandlerContext;
  request: Request;
  user: ChatUser;
  /** Absent: the user's default conversation. */
  conversationId?: string;
}

/**
 * Takes over the conversation's running turn when the process running it is gone, and goes on
 * with it on this process; resolves whether it did. Never rejects (a failed takeover is logged;
 * the next request or reader tries again).
 *
 * The turn's heartbeat is the conversation's turn lock, whose lease the running process renews:
 * a turn recorded as running whose lock can be taken has lost its process. Then, under that
 * lock: the turn's fence is raised (the old process, if only paused, can write nothing more),
 * its transcript is rebuilt from its event log, tool calls cut off mid-way are repeated when
 * their tools are annotated `readOnlyHint` or `idempotentHint` and otherwise closed with an
 * "interrupted" `tool_error`, and the chat loop resumes under the same turn id, appending after
 * the last recorded event: readers following the log see each event once. A stop that was sent
 * to the dead process is honoured at once; a turn whose owner saved it before dying only gets
 * its end recorded.
 *
 * Called by every route that touches a conversation (`/chat`, a retried send, `/chat/events`,
 * `/stop`) and by readers following a turn from another process ({@link takeoverWatchdog}).
 * @internal
 */
export async function takeOverTurn(asker: TakeoverRequest): Promise<boolean> {
  const { context } = asker;
  try {
    const latest = await context.turns.log.getLatest(asker.user.id, asker.conversationId);
    if (!looksAbandoned(asker, latest)) return false;
    return await claimAndContinue(asker, latest.turnId);
  } catch (error) {
    context.logger?.warn?.('could not take over a chat turn', {
      code: isLlmChatError(error) ? error.code : 'INTERNAL',
    });
    return false;
  }
}

/** A watchdog for a reader following a turn from another process: quiet for a lease, it checks. @internal */
export function takeoverWatchdog(asker: TakeoverRequest): OwnerWatchdog {
  return { everyMs: asker.context.settings.lockTtlMs, check: () => takeOverTurn(asker) };
}

function looksAbandoned(asker: TakeoverRequest, latest: LatestTurn | null): latest is LatestTurn {
  const { context } = asker;
  if (latest === null || latest.ended === true) return false;
  if (context.turns.local(latest.turnId) !== undefined) return false;
  // Past its deadline the turn would have been stopped anyway: nothing to finish.
  return Date.now() - latest.startedAt < context.settings.turnTimeoutMs;
}

async function claimAndContinue(asker: TakeoverRequest, turnId: string): Promise<boolean> {
  const { context, user } = asker;
  const userId = user.id;
  const conversationId = asker.conversationId;
  const fullConversationId = conversationId ?? DEFAULT_CONVERSATION_ID;
  let lease: Awaited<ReturnType<typeof context.locks.hold>>;
  try {
    lease = await context.locks.hold(conversationTurnLockKey(userId, fullConversationId), {
      ttlMs: context.settings.lockTtlMs,
    });
  } catch (error) {
    // Held: the running process is alive (or another process took over first).
    if (isLlmChatError(error) && error.code === 'LOCK_TIMEOUT') return false;
    throw error;
  }
  const scope = new TurnScope(lease, context.settings.turnTimeoutMs);
  let started = false;
  try {
    const turns = context.turns;
    // Under the lock, again: a turn that ended cleanly marked itself ended before letting go.
    const latest = await turns.log.getLatest(userId, conversationId);
    if (!looksAbandoned(asker, latest) || latest.turnId !== turnId) return false;
    scope.keep(await context.slots.take(userId));
    const ref: TurnRef = { userId, turnId, ...(conversationId ? { conversationId } : {}) };
    const epoch = await turns.log.claim(ref, turns.runningTtlMs);
    let plan: Continuation | 'ended';
    try {
      plan = await planContinuation(asker, scope, ref, latest, epoch);
    } catch (error) {
      // Storage down: the next request or reader tries again. Anything else (a log that cannot
      // be continued, no session, an MCP server gone) ends the turn with that error, so its
      // readers are not left waiting for a turn nobody can finish.
      if (!isLlmChatError(error) || error.code === 'BACKEND_UNAVAILABLE') throw error;
      const last = await turns.log.last(ref);
      const failure: ChatEvent = {
        type: 'error',
        error: error.code === 'EVENT_LOG_INVALID' ? CANNOT_CONTINUE_MESSAGE : error.message,
        recoverable: error.recoverable,
        code: error.code,
      };
      plan = {
        state: { lastSeq: last?.seq ?? 0, text: '', tools: [], startedAt: latest.startedAt },
        source: async function* () {
          yield failure;
        },
      };
    }
    if (plan === 'ended') {
      // It ended, but its ended mark was lost: mark it now.
      const { message: _message, ...ended } = latest;
      await turns.log.setLatest(userId, conversationId, { ...ended, ended: true }, turns.log.retentionMs);
      return false;
    }
    const { state, source } = plan;
    const stopAsked = await turns.log.isStopRequested(ref);
    const turn = await turns.start({
      userId,
      ...(conversationId ? { conversationId } : {}),
      turnId,
      ...(latest.message === undefined ? {} : { message: latest.message }),
      continueFrom: { epoch, state },
      source,
      onEnded: () => scope.end(),
      lease,
    });
    started = true;
    scope.stopsTurn(turn);
    // A stop sent to the dead process: honoured here, before the LLM is asked anything.
    if (stopAsked) turn.stop();
    context.logger?.info?.('took over a chat turn whose process was gone', { epoch });
    return true;
  } finally {
    if (!started) await scope.end();
  }
}

/** How a claimed turn goes on: from where, and with which events. */
interface Continuation {
  state: ResumedTurnState;
  source: (signal: AbortSignal, onToken: TextSink) => AsyncIterable<ChatEvent>;
}

/**
 * Reads what the dead process recorded and decides how the turn goes on: `'ended'` when its
 * last event is recorded already; only its end when its owner saved it before dying; else the
 * chat loop resumed on this process's live session.
 */
async function planContinuation(
  asker: TakeoverRequest,
  scope: TurnScope,
  ref: TurnRef,
  latest: LatestTurn,
  epoch: number,
): Promise<Continuation | 'ended'> {
  const { context, user } = asker;
  const turns = context.turns;
  const conversationId = asker.conversationId ?? DEFAULT_CONVERSATION_ID;
  const events = await readAll(turns.log, ref);
  const last = events.at(-1);
  if (last !== undefined && TERMINAL_EVENTS.has(last.event)) return 'ended';
  const message = latest.message;
  if (message === undefined) throw new LlmChatError('EVENT_LOG_INVALID', CANNOT_CONTINUE_MESSAGE);
  const rebuilt = rebuildTurn(message, events);
  const state: ResumedTurnState = {
    lastSeq: last?.seq ?? 0,
    text: rebuilt.text,
    tools: rebuilt.tools,
    startedAt: latest.startedAt,
  };
  const saved = (await context.store.getTurns(ref.userId, conversationId)).at(-1);
  if (saved !== undefined && savedTurnId(saved) === ref.turnId) {
    // Its owner died after saving the turn and before recording its end: only the end is missing.
    const answer = saved.map((stored) => (stored.role === 'assistant' ? stored.content : '')).join('');
    const final: ChatEvent = {
      type: 'final',
      content: answer,
      tool_used: rebuilt.tools.length > 0,
      tools: rebuilt.tools,
      elapsed_ms: Date.now() - latest.startedAt,
    };
    return {
      state,
      source: async function* () {
        yield final;
      },
    };
  }
  const stored = await context.store.requireSession(ref.userId);
  const live = scope.use(await acquireLive(context, stored, asker.request, user));
  const { interrupted, closing } = settleCutCalls(rebuilt.messages, rebuilt.cutCalls, live.toolbox);
  const source = (signal: AbortSignal, onToken: TextSink) => {
    // Its LLM calls from here on are this process's to count.
    const hooks = context.ops.observe({
      userId: ref.userId,
      ...(ref.conversationId ? { conversationId: ref.conversationId } : {}),
      modelId: stored.config.model,
      streaming: true,
      message: latest.message ?? '',
    });
    const history = fencedHistory(
      context.conversations.history(ref.userId, conversationId, undefined, {
        sessionVersion: stored.version,
        wasStopped: () => isStopReason(signal.reason),
      }),
      turns.log,
      { ref, epoch, startedAt: latest.startedAt },
      scope,
      context.logger,
    );
    return continueTurn(
      closing,
      live.service.resume(interrupted, {
        history,
        // The scope's stops abort this signal too (`stopsTurn`, once the turn runs).
        signal,
        onToken,
        ...(hooks ? { hooks } : {}),
        ...turnAsks(context, {
          userId: ref.userId,
          conversationId,
          sessionVersion: stored.version,
          streaming: true,
          tools: live.toolbox,
        }),
      }),
    );
  };
  return { state, source };
}

/**
 * Decides each cut-off call: repeated when its tool says it is safe to run twice (MCP
 * `readOnlyHint` or `idempotentHint`), else closed with an "interrupted" result, sent to readers
 * as a `tool_error` so their tool call ends too.
 */
function settleCutCalls(
  messages: InterruptedTurn['messages'],
  cutCalls: NonNullable<InterruptedTurn['rerun']>,
  tools: ToolSource,
): { interrupted: InterruptedTurn; closing: ChatEvent[] } {
  const rerun: typeof cutCalls = [];
  const closing: ChatEvent[] = [];
  const closed: ToolMessage[] = [];
  for (const call of cutCalls) {
    const annotations = tools.describeTool?.(call.name)?.annotations;
    if (annotations?.readOnlyHint === true || annotations?.idempotentHint === true) {
      rerun.push(call);
      continue;
    }
    closed.push({
      role: 'tool',
      toolCallId: call.id,
      name: call.name,
      content: INTERRUPTED_CALL_MESSAGE,
      isError: true,
    });
    closing.push({
      type: 'tool_error',
      id: call.id,
      tool: call.name,
      error: INTERRUPTED_CALL_MESSAGE,
      time: new Date().toISOString(),
    });
  }
  return { interrupted: { messages: [...messages, ...closed], rerun }, closing };
}

async function* continueTurn(closing: readonly ChatEvent[], rest: AsyncIterable<ChatEvent>): AsyncGenerator<ChatEvent> {
  yield* closing;
  yield* rest;
}

async function readAll(log: TurnLog, ref: TurnRef): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const page = await log.read(ref, events.at(-1)?.seq ?? 0, 500);
    if (page.length === 0) return events;
    events.push(...page);
  }
}
