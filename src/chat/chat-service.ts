import type { ToolGate } from '../approval/tool-gate.js';
import type { Elicitor } from '../elicitation/elicitation-relay.js';
import { isLlmChatError, LlmChatError } from '../errors.js';
import { asCompleted } from '../internal/as-completed.js';
import { copyWith } from '../internal/copy-with.js';
import { EventInbox } from '../internal/event-inbox.js';
import { GrowingText } from '../internal/growing-text.js';
import type { LlmCallOptions, LlmProvider, LlmRequest, TextSink } from '../llm/llm-provider.js';
import type { ToolCallOptions, ToolResult, ToolSource } from '../mcp/tool-source.js';
import { observeLlmCall, observeToolCall } from '../telemetry/observe-calls.js';
import type { LlmCallHooks, ToolCallInfo, TurnHooks, TurnOutcome } from '../telemetry/turn-observer.js';
import type {
  AssistantMessage,
  ChatErrorEvent,
  ChatEvent,
  FinalEvent,
  Logger,
  TokenUsage,
  ToolCall,
  ToolEvent,
  ToolMessage,
  ToolSpec,
  TranscriptMessage,
  UsageSummary,
} from '../types.js';
import type { ChatHistory } from './chat-history.js';
import { continueAnswerMessages, joinAtSeam } from './continue-answer.js';
import { estimateTokens, fitHistory, type TokenCounter, toolSpecTokens } from './token-budget.js';

/** Options of {@link ChatService}. */
export interface ChatServiceOptions {
  /** The LLM to talk to. */
  provider: LlmProvider;
  /** The provider's model name. */
  model: string;
  /** The tools the model may call. */
  tools: ToolSource;
  /** An optional system prompt sent with every call. */
  systemPrompt?: string;
  /** Sampling temperature; the provider's default when unset. */
  temperature?: number;
  /** Answer size limit per LLM call. */
  maxTokens?: number;
  /** The model's context window, used to trim history. @default 128000 */
  contextWindow?: number;
  /** Whether tool images are sent to the model as images. @default false */
  supportsVision?: boolean;
  /**
   * How many rounds of tool calls one turn may make. When reached, one last call is made with
   * tools disabled, so a turn always ends with an answer. @default 10
   */
  maxToolRounds?: number;
  /** Time allowed for each tool call. @default the tool source's own timeout */
  toolTimeoutMs?: number;
  /** Counts tokens for history trimming. @default about four characters a token */
  countTokens?: TokenCounter;
  /** Receives diagnostics (never secrets). */
  logger?: Logger;
  /** Yield the model's reasoning as `reasoning` events; otherwise it is dropped. @default false */
  emitReasoning?: boolean;
}

/** Per-turn options of {@link ChatService.chat}. */
export interface ChatTurnOptions {
  /** Where the transcript is read from and the finished turn appended to. */
  history?: ChatHistory;
  /** Stops the turn: the LLM request and running tool calls are cancelled. */
  signal?: AbortSignal;
  /** Observers of this turn (tracing, usage, budgets). Nothing is called when absent. */
  hooks?: TurnHooks;
  /** Decides whether each tool call may run (tool approval); every call runs when absent. */
  toolGate?: ToolGate;
  /** Relays MCP servers' questions for the user (elicitation); they are cancelled when absent. */
  elicitor?: Elicitor;
  /**
   * Called with each streamed token's text, in place of a `token` event: the events the turn
   * yields are then all the others, in the same order around the tokens (`complete` ignores it:
   * it gathers its answer from the token events). For a consumer that records tokens as they
   * come (the HTTP handler's running turn does): a yielded event costs the consumer an async
   * step, about four promises, for every token.
   */
  onToken?: TextSink;
}

/**
 * A turn cut off mid-way (the process running it died), for {@link ChatService.resume} to
 * finish. Usually rebuilt from the turn's event log (`rebuildTurn`).
 */
export interface InterruptedTurn {
  /**
   * The turn so far: the user's message, then the answers and tool results recorded. Every tool
   * call of the last answer needs a result here, unless it is in `rerun`.
   */
  messages: TranscriptMessage[];
  /**
   * Tool calls of the last answer that were cut off mid-call and may safely run again (their
   * tools are read-only or idempotent); their `tool_start` was already sent, so it is not again.
   */
  rerun?: ToolCall[];
}

/** Where {@link ChatService} starts a turn's loop: a new turn, or one cut off mid-way. */
interface TurnStart {
  turn: TranscriptMessage[];
  rerun: ToolCall[];
}

/** The gateway's non-streaming answer shape, returned by {@link ChatService.complete}. */
export interface ChatResult {
  response: string;
  tool_used: boolean;
  tools: string[];
  tool_invocations: ToolEvent[];
  elapsed_ms: number;
  usage?: UsageSummary;
}

// Room left for the answer when the model config sets no maxTokens.
const DEFAULT_ANSWER_ROOM = 4096;
const INTERRUPTED_TOOL_RESULT = 'The tool call was interrupted before it finished.';
/** Deeper tool arguments are refused (tool schemas need a handful of levels, not thousands). */
const MAX_ARGUMENT_DEPTH = 100;
const TOO_DEEP_MESSAGE = `The tool arguments are nested more than ${MAX_ARGUMENT_DEPTH} levels deep; the call was not run.`;

/**
 * Runs the LLM ⇄ MCP tool loop of one chat turn and yields the events of the wire contract
 * (`token`, `tool_start`, `tool_end`, `tool_error`, then exactly one `final` or `error`), with
 * no HTTP involved: usable from a route, a worker, a CLI or a test.
 *
 * @example
 * const service = new ChatService({ provider, model: 'gpt-4o', tools });
 * for await (const event of service.chat('What is 2 + 3?', { history })) {
 *   if (event.type === 'token') process.stdout.write(event.content);
 * }
 */
export class ChatService {
  readonly #options: ChatServiceOptions;
  readonly #countTokens: TokenCounter;
  // Tool schemas are the same every call; sizing them means serializing them, so do it once.
  readonly #toolTokenCache = new WeakMap<readonly ToolSpec[], number>();

  constructor(options: ChatServiceOptions) {
    const rounds = options.maxToolRounds ?? 10;
    if (!Number.isInteger(rounds) || rounds < 0) {
      throw new LlmChatError('CONFIG_INVALID', 'maxToolRounds must be a whole number of at least 0.');
    }
    this.#options = options;
    this.#countTokens = options.countTokens ?? estimateTokens;
  }

  /** The tools the model may call. */
  get tools(): ToolSource {
    return this.#options.tools;
  }

  /**
   * Runs one turn and yields its events. Never throws: a failure becomes the final `error`
   * event. The turn (user message, answers with their tool calls, tool results) is appended to
   * `history` once, before `final`; an interrupted turn is kept too, marked as interrupted.
   */
  chat(message: string, options: ChatTurnOptions = {}): AsyncGenerator<ChatEvent, void, undefined> {
    return this.#turn(newTurn(message), options, false);
  }

  /**
   * Finishes a turn that was cut off mid-way (its process died) and yields the events still to
   * come, like {@link chat}: the calls of `rerun` run first (without a second `tool_start`); an
   * answer cut off mid-text is continued (the model is asked to finish it, see
   * `continueAnswerMessages`, and its text is added to that answer); else the next LLM round
   * runs. `final` carries the whole answer, recorded part included. The whole turn is appended
   * to `history` once, as {@link chat} does.
   */
  resume(interrupted: InterruptedTurn, options: ChatTurnOptions = {}): AsyncGenerator<ChatEvent, void, undefined> {
    const turn = structuredClone(interrupted.messages);
    const rerun = structuredClone(interrupted.rerun ?? []);
    return this.#turn({ turn, rerun }, options, false);
  }

  /**
   * Runs one turn to the end and returns the gateway's non-streaming shape. Throws the turn's
   * `LlmChatError` when it fails.
   */
  async complete(message: string, options: ChatTurnOptions = {}): Promise<ChatResult> {
    const response = new GrowingText();
    const invocations: ToolEvent[] = [];
    // The answer is gathered from the token events, so they are yielded here whatever `onToken` says.
    for await (const event of this.#turn(newTurn(message), { ...options, onToken: undefined }, true)) {
      if (event.type === 'token') response.append(event.content);
      else if (event.type === 'final') {
        const result: ChatResult = {
          response: response.text,
          tool_used: event.tool_used,
          tools: event.tools,
          tool_invocations: invocations,
          elapsed_ms: event.elapsed_ms,
        };
        if (event.usage) result.usage = event.usage;
        return result;
      } else if (event.type === 'tool_start' || event.type === 'tool_end' || event.type === 'tool_error') {
        invocations.push(event);
      }
    }
    throw new LlmChatError('INTERNAL', 'The chat turn ended without an answer.');
  }

  /**
   * One turn. A failure is thrown (`complete`) or becomes the last event (`chat`): one generator
   * either way, since every layer of async generators costs a promise per streamed token.
   */
  async *#turn(
    start: TurnStart,
    options: ChatTurnOptions,
    throwErrors: boolean,
  ): AsyncGenerator<ChatEvent, void, undefined> {
    const started = performance.now();
    const { signal, history, hooks, onToken } = options;
    const turn = start.turn;
    const toolsUsed = new Set<string>();
    // A resumed turn counts the rounds it already made against maxToolRounds.
    let roundsDone = 0;
    for (const message of turn) {
      if (message.role !== 'assistant' || !message.toolCalls?.length) continue;
      roundsDone++;
      for (const call of message.toolCalls) toolsUsed.add(call.name);
    }
    // An answer cut off mid-text is finished in place rather than answered anew.
    const cut = turn.at(-1);
    let continuing =
      cut?.role === 'assistant' && cut.content !== '' && !cut.toolCalls?.length && start.rerun.length === 0;
    const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    let saved = false;
    const save = async (interrupted: boolean) => {
      if (saved || !history) return;
      saved = true;
      await history.append(interrupted ? closeInterruptedTurn(turn) : turn);
    };

    let failure: { error: unknown } | undefined;
    let ended = false;
    const end = (outcome: TurnOutcome) => {
      ended = true;
      hooks?.end?.(outcome);
    };
    try {
      signal?.throwIfAborted();
      const past = history ? await history.load() : [];
      const maxRounds = this.#options.maxToolRounds ?? 10;
      if (start.rerun.length > 0) yield* this.#runTools(start.rerun, turn, signal, options, false);
      for (let round = roundsDone; ; round++) {
        const toolsEnabled = round < maxRounds;
        const request = this.#request(past, turn, toolsEnabled);
        let assistant: AssistantMessage = { role: 'assistant', content: '' };
        let seam = false;
        if (continuing) {
          assistant = turn.at(-1) as AssistantMessage;
          request.messages = continueAnswerMessages(this.#options.provider.kind, request.messages);
          seam = true;
          continuing = false;
        } else {
          turn.push(assistant);
        }
        const answer = new GrowingText(assistant.content);
        const calls: ToolCall[] = [];
        const reasoning = new GrowingText();
        const call = hooks?.llmCall ? await this.#llmCallHooks(hooks, round, request) : undefined;
        // A chunk of the answer, added to it: the text the client gets, or none (joined at a seam).
        const addText = (chunk: string): string | undefined => {
          const text = seam ? joinAtSeam(assistant.content, chunk) : chunk;
          if (text.length === 0) return undefined;
          seam = false;
          assistant.content = answer.append(text);
          return text;
        };
        // With a token sink, the provider may hand its text over in place, with no async step
        // (unless the call's hooks observe its events).
        const onText =
          onToken && !call
            ? (chunk: string) => {
                const text = addText(chunk);
                return text === undefined ? undefined : onToken(text);
              }
            : undefined;
        const stream = this.#options.provider.stream(request, callOptions(signal, call, onText));
        for await (const event of call ? observeLlmCall(stream, call, signal) : stream) {
          if (event.type === 'text') {
            const text = addText(event.text);
            if (text === undefined) continue;
            if (onToken === undefined) yield { type: 'token', content: text };
            else {
              const held = onToken(text);
              if (held !== undefined) await held;
            }
          } else if (event.type === 'tool_call') {
            const call: ToolCall = { id: event.id, name: event.name, arguments: event.arguments };
            if (event.signature !== undefined) call.signature = event.signature;
            calls.push(call);
          } else if (event.type === 'usage') {
            addUsage(usage, event.usage);
          } else if (event.type === 'reasoning') {
            reasoning.append(event.text);
            if (this.#options.emitReasoning === true && event.text.length > 0) {
              yield { type: 'reasoning', content: event.text };
            }
          } else if (event.type === 'thinking') {
            if (assistant.thinking) assistant.thinking.push(event.block);
            else assistant.thinking = [event.block];
          }
        }
        // A model that still asks for tools once they are disabled gets its text kept and the
        // calls dropped: the turn must end with an answer.
        if (calls.length === 0 || !toolsEnabled) break;
        assistant.toolCalls = calls;
        // Signed blocks already carry their text; plain reasoning is kept for the tool loop.
        if (reasoning.text !== '' && !assistant.thinking) assistant.reasoning = reasoning.text;
        for (const call of calls) toolsUsed.add(call.name);
        yield* this.#runTools(calls, turn, signal, options, true);
      }
      signal?.throwIfAborted();
      await save(false);
      const final: FinalEvent = {
        type: 'final',
        // The whole answer is every round's text, as the client saw it streamed.
        content: answerOf(turn),
        tool_used: toolsUsed.size > 0,
        tools: [...toolsUsed],
        elapsed_ms: Math.round(performance.now() - started),
      };
      if (usage.inputTokens > 0 || usage.outputTokens > 0) final.usage = usageSummary(usage);
      end({ status: 'final', text: final.content });
      yield final;
    } catch (error) {
      failure = { error };
    } finally {
      // A turn that failed, was aborted, or whose consumer stopped early: keep what was said.
      if (!saved) await this.#saveQuietly(save, turn);
      if (!ended && failure === undefined) end({ status: 'stopped', text: answerOf(turn) });
    }
    if (failure === undefined) return;
    const errorEvent = this.#errorEvent(failure.error, signal);
    if (!ended) end(outcomeOf(errorEvent, answerOf(turn)));
    if (throwErrors) throw failure.error;
    yield errorEvent;
  }

  /** A tool call as observers see it: whether the session offers it tells a made-up name. */
  #observedCall(call: ToolCall): ToolCallInfo {
    const listed = this.#options.tools.listTools().some((tool) => tool.name === call.name);
    return { id: call.id, name: call.name, arguments: call.arguments, listed };
  }

  /** The hooks of one LLM call; a hook that refuses the call ends the turn with its error. */
  async #llmCallHooks(hooks: TurnHooks, round: number, request: LlmRequest): Promise<LlmCallHooks | undefined> {
    const { provider, model } = this.#options;
    return hooks.llmCall?.({ provider: provider.kind, model, round, request });
  }

  /**
   * Runs one round's tool calls in parallel, yielding their events as each one ends. With a
   * gate, each call first passes it (and may wait on the user); what the gate emits meanwhile
   * is yielded as it comes.
   */
  async *#runTools(
    calls: ToolCall[],
    turn: TranscriptMessage[],
    signal: AbortSignal | undefined,
    { toolGate: gate, elicitor, hooks }: ChatTurnOptions,
    announce: boolean,
  ): AsyncGenerator<ChatEvent, void, undefined> {
    const now = () => new Date().toISOString();
    // Arguments nested deeper than any tool schema needs are refused, and dropped from the
    // transcript: encoding them (for the stream, the history, the next LLM call) would overflow
    // the stack.
    const refused = new Set<ToolCall>();
    for (const call of calls) {
      if (!nestedDeeperThan(call.arguments, MAX_ARGUMENT_DEPTH)) continue;
      call.arguments = {};
      refused.add(call);
    }
    // Calls repeated after a takeover were announced by the process that first ran them.
    for (const call of announce ? calls : []) {
      yield { type: 'tool_start', id: call.id, tool: call.name, input: call.arguments, start: now() };
    }
    // Set one by one, not spread: see `copyWith` for what spreads cost on Node 20.
    const callOptions: ToolCallOptions = {};
    if (signal) callOptions.signal = signal;
    if (this.#options.toolTimeoutMs !== undefined) callOptions.timeoutMs = this.#options.toolTimeoutMs;
    const emitted = new EventInbox<ChatEvent>();
    const emit = (event: ChatEvent) => emitted.push(event);
    let withElicitation = callOptions;
    if (elicitor) {
      const onElicitation: NonNullable<ToolCallOptions['onElicitation']> = (request, requestSignal) =>
        elicitor.elicit(request, {
          signal: signal ? AbortSignal.any([signal, requestSignal]) : requestSignal,
          emit,
        });
      withElicitation = copyWith(callOptions, { onElicitation });
    }
    const run = (call: ToolCall): Promise<ToolResult> => {
      const observed = hooks?.toolCall?.(this.#observedCall(call));
      const options = observed?.meta ? copyWith(withElicitation, { meta: observed.meta }) : withElicitation;
      return observeToolCall(this.#options.tools.callTool(call.name, call.arguments, options), observed);
    };
    const tasks = calls.map((call) => {
      if (refused.has(call)) return Promise.reject(new LlmChatError('BAD_REQUEST', TOO_DEEP_MESSAGE));
      return gate === undefined ? run(call) : gateThenRun(gate, call, signal, emitted, run);
    });
    const results: ToolMessage[] = new Array(calls.length);
    // Only a gate or an elicitor emits while calls run; without them, no inbox to watch.
    for await (const outcome of asCompleted(tasks, gate || elicitor ? emitted : undefined)) {
      if (outcome.status === 'event') {
        yield outcome.event;
        continue;
      }
      const call = calls[outcome.index] as ToolCall;
      if (outcome.status === 'fulfilled') {
        results[outcome.index] = toolMessage(call, outcome.value);
        yield outcome.value.isError
          ? { type: 'tool_error', id: call.id, tool: call.name, error: outcome.value.text, time: now() }
          : { type: 'tool_end', id: call.id, tool: call.name, output: outcome.value.output, end: now() };
      } else {
        if (signal?.aborted) throw signal.reason;
        // The user must authorize the MCP server first: the turn ends with that error, not a tool error.
        if (isLlmChatError(outcome.reason) && outcome.reason.code === 'MCP_AUTHORIZATION_REQUIRED') {
          throw outcome.reason;
        }
        const error = clientMessage(outcome.reason);
        this.#options.logger?.warn?.('tool call failed', { tool: call.name, code: codeOf(outcome.reason) });
        results[outcome.index] = { role: 'tool', toolCallId: call.id, name: call.name, content: error, isError: true };
        yield { type: 'tool_error', id: call.id, tool: call.name, error, time: now() };
      }
    }
    turn.push(...results);
  }

  #request(past: TranscriptMessage[], turn: TranscriptMessage[], toolsEnabled: boolean): LlmRequest {
    const options = this.#options;
    const tools = toolsEnabled ? options.tools.listTools() : [];
    const answerRoom = options.maxTokens ?? DEFAULT_ANSWER_ROOM;
    const budget =
      (options.contextWindow ?? 128_000) -
      answerRoom -
      this.#toolTokens(tools) -
      this.#countTokens(options.systemPrompt ?? '');
    const request: LlmRequest = {
      model: options.model,
      messages: fitHistory(past, turn, budget, this.#countTokens).filter(isSendable),
      tools,
      vision: options.supportsVision ?? false,
    };
    if (options.systemPrompt) request.system = options.systemPrompt;
    if (options.temperature !== undefined) request.temperature = options.temperature;
    if (options.maxTokens !== undefined) request.maxTokens = options.maxTokens;
    return request;
  }

  #toolTokens(tools: readonly ToolSpec[]): number {
    let size = this.#toolTokenCache.get(tools);
    if (size === undefined) {
      size = toolSpecTokens(tools, this.#countTokens);
      this.#toolTokenCache.set(tools, size);
    }
    return size;
  }

  async #saveQuietly(save: (interrupted: boolean) => Promise<void>, turn: TranscriptMessage[]): Promise<void> {
    // Only worth keeping when the model said or did something.
    if (!turn.slice(1).some(isSendable)) return;
    try {
      await save(true);
    } catch (error) {
      this.#options.logger?.warn?.('could not save the interrupted turn', { code: codeOf(error) });
    }
  }

  #errorEvent(error: unknown, signal: AbortSignal | undefined): ChatErrorEvent {
    // When the turn was stopped, the signal's reason says why (timeout, lost lease, client gone)
    // better than the ABORTED each stopped call reports.
    const chatError =
      signal?.aborted && (isLlmChatError(signal.reason) || !isLlmChatError(error)) ? abortedError(signal) : error;
    if (!isLlmChatError(chatError)) {
      this.#options.logger?.error?.('chat turn failed', { error: String(chatError) });
      return { type: 'error', error: 'An unexpected error occurred.', recoverable: false, code: 'INTERNAL' };
    }
    const event: ChatErrorEvent = {
      type: 'error',
      error: chatError.message,
      recoverable: chatError.recoverable,
      code: chatError.code,
    };
    const authorizationUrl = chatError.details?.authorization_url;
    if (chatError.code === 'MCP_AUTHORIZATION_REQUIRED' && typeof authorizationUrl === 'string') {
      event.authorization_url = authorizationUrl;
    }
    if (chatError.retryAfterMs !== undefined) event.retry_after_ms = chatError.retryAfterMs;
    return event;
  }
}

function newTurn(message: string): TurnStart {
  return { turn: [{ role: 'user', content: message }], rerun: [] };
}

function addUsage(total: TokenUsage, call: TokenUsage): void {
  total.inputTokens += call.inputTokens;
  total.outputTokens += call.outputTokens;
  if (call.cachedInputTokens !== undefined) {
    total.cachedInputTokens = (total.cachedInputTokens ?? 0) + call.cachedInputTokens;
  }
  if (call.cacheWriteInputTokens !== undefined) {
    total.cacheWriteInputTokens = (total.cacheWriteInputTokens ?? 0) + call.cacheWriteInputTokens;
  }
}

/** The wire shape of a turn's usage; cache counts only when the provider reported them. */
function usageSummary(usage: TokenUsage): UsageSummary {
  const summary: UsageSummary = { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens };
  if (usage.cachedInputTokens !== undefined) summary.cached_input_tokens = usage.cachedInputTokens;
  if (usage.cacheWriteInputTokens !== undefined) summary.cache_creation_input_tokens = usage.cacheWriteInputTokens;
  return summary;
}

function toolMessage(call: ToolCall, result: ToolResult): ToolMessage {
  const message: ToolMessage = { role: 'tool', toolCallId: call.id, name: call.name, content: result.text };
  if (result.isError) message.isError = true;
  if (result.images?.length) message.images = result.images;
  return message;
}

/**
 * Makes an interrupted turn safe to store: every tool call gets a result (results of a round are
 * added together, so only the last round can lack them) and the turn ends with an answer marked
 * as interrupted.
 */
function closeInterruptedTurn(turn: TranscriptMessage[]): TranscriptMessage[] {
  const closed = turn.filter(isSendable);
  const last = closed.at(-1);
  if (last?.role === 'assistant' && last.toolCalls?.length) {
    for (const call of last.toolCalls) {
      closed.push({
        role: 'tool',
        toolCallId: call.id,
        name: call.name,
        content: INTERRUPTED_TOOL_RESULT,
        isError: true,
      });
    }
  }
  const tail = closed.at(-1);
  if (tail?.role === 'assistant' && !tail.toolCalls?.length) closed[closed.length - 1] = { ...tail, interrupted: true };
  else closed.push({ role: 'assistant', content: '', interrupted: true });
  return closed;
}

/**
 * The provider call's options: the turn's signal, the headers observers add (trace context), and
 * where its text may go in place.
 */
function callOptions(signal: AbortSignal | undefined, call: LlmCallHooks | undefined, onText: TextSink | undefined) {
  const options: LlmCallOptions = {};
  if (signal) options.signal = signal;
  if (call?.headers) options.headers = call.headers;
  if (onText) options.onText = onText;
  return options;
}

/** A stopped turn (`ABORTED`) is not a failure to its observers. */
function outcomeOf(event: ChatErrorEvent, text: string): TurnOutcome {
  return event.code === 'ABORTED' ? { status: 'stopped', text } : { status: 'error', code: event.code, text };
}

function answerOf(turn: readonly TranscriptMessage[]): string {
  let answer = '';
  for (const message of turn) if (message.role === 'assistant') answer += message.content;
  return answer;
}

/** Empty answers (a call stopped before its first token) carry nothing and some APIs refuse them. */
function isSendable(message: TranscriptMessage): boolean {
  return message.role !== 'assistant' || message.content.length > 0 || (message.toolCalls?.length ?? 0) > 0;
}

/** Whether `value` nests objects or arrays more than `limit` levels deep; iterative, linear in its size. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

function clientMessage(error: unknown): string {
  return isLlmChatError(error) ? error.message : 'The tool call failed.';
}

function codeOf(error: unknown): string {
  return isLlmChatError(error) ? error.code : 'INTERNAL';
}

function abortedError(signal: AbortSignal): LlmChatError {
  const reason: unknown = signal.reason;
  return isLlmChatError(reason) ? reason : new LlmChatError('ABORTED', 'The chat turn was stopped.', { cause: reason });
}

/** Passes one call through the gate, then runs it, or resolves with the denial as a tool error. */
async function gateThenRun(
  gate: ToolGate,
  call: ToolCall,
  signal: AbortSignal | undefined,
  inbox: EventInbox<ChatEvent>,
  run: (call: ToolCall) => Promise<ToolResult>,
): Promise<ToolResult> {
  const verdict = await gate.check(call, { emit: (event) => inbox.push(event), ...(signal ? { signal } : {}) });
  if (verdict.run) return run(call);
  return { text: verdict.reason, output: verdict.reason, isError: true };
}
