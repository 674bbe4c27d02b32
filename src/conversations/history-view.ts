import { MAX_STORED_DEPTH, nestsDeeperThan } from '../internal/json-depth.js';
import type { AssistantMessage, ToolMessage, TranscriptMessage } from '../types.js';

/** One tool call as a chat page draws it: input, and output or error once it finished. */
export interface HistoryToolCall {
  id: string;
  tool: string;
  input: Record<string, unknown>;
  output?: unknown;
  error?: string;
}

/** A user message of `GET /history`. */
export interface HistoryUserMessage {
  role: 'user';
  content: string;
  /** ISO-8601 UTC, or `null` for turns saved before timestamps were recorded. */
  at: string | null;
}

/** The model's answer of one turn, with every tool call it made, as `GET /history` returns it. */
export interface HistoryAssistantMessage {
  role: 'assistant';
  content: string;
  tool_calls: HistoryToolCall[];
  /** The user (or the host) stopped the turn; `content` is what was streamed until then. */
  stopped?: true;
  /** The turn ended early for another reason (an error, a crash, a timeout). */
  interrupted?: true;
  at: string | null;
}

/** One message of `GET /history`. */
export type HistoryMessage = HistoryUserMessage | HistoryAssistantMessage;

/** A stored turn: the transcript messages of one `/chat`, oldest first. */
export type StoredTurn = readonly TranscriptMessage[];

/** Options of {@link historyPage}. */
export interface HistoryPageOptions {
  /** At most this many turns. */
  limit: number;
  /** Only turns that started strictly before this ISO-8601 time: the next (older) page. */
  before?: string;
}

/** A page of history: messages oldest first, ready to draw. */
export interface HistoryPage {
  messages: HistoryMessage[];
  /** Whether older turns exist past this page. */
  hasMore: boolean;
}

// Optional fields a turn writer may add to stored messages (the schemas keep unknown fields).
type Stamped = { at?: unknown; stopped?: unknown };

/**
 * The newest `limit` turns before `before`, as a page a chat page can redraw itself from: per
 * turn, the user's message, then ONE assistant message joining the answer's text across tool
 * rounds, with each tool call's input and its output or error.
 */
export function historyPage(turns: readonly StoredTurn[], options: HistoryPageOptions): HistoryPage {
  const older = options.before === undefined ? turns : turns.filter((turn) => isBefore(turnTime(turn), options.before));
  const page = older.slice(Math.max(0, older.length - options.limit));
  return { messages: page.flatMap(turnMessages), hasMore: older.length > page.length };
}

/** The messages one stored turn draws as. */
export function turnMessages(turn: StoredTurn): HistoryMessage[] {
  const messages: HistoryMessage[] = [];
  const at = turnTime(turn);
  const results = new Map<string, ToolMessage>();
  for (const message of turn) if (message.role === 'tool') results.set(message.toolCallId, message);
  let answer: HistoryAssistantMessage | undefined;
  for (const message of turn) {
    if (message.role === 'user') {
      messages.push({ role: 'user', content: message.content, at: stampOf(message) ?? at });
      answer = undefined;
    } else if (message.role === 'assistant') {
      if (answer === undefined) {
        answer = { role: 'assistant', content: '', tool_calls: [], at: null };
        messages.push(answer);
      }
      addAssistant(answer, message, results);
      answer.at = stampOf(message) ?? answer.at ?? at;
    }
  }
  return messages;
}

function addAssistant(answer: HistoryAssistantMessage, message: AssistantMessage, results: Map<string, ToolMessage>) {
  if (message.content !== '')
    answer.content = answer.content === '' ? message.content : `${answer.content}\n\n${message.content}`;
  for (const call of message.toolCalls ?? []) {
    const entry: HistoryToolCall = { id: call.id, tool: call.name, input: call.arguments };
    const result = results.get(call.id);
    if (result?.isError) entry.error = result.content;
    else if (result !== undefined) entry.output = parseOutput(result.content);
    answer.tool_calls.push(entry);
  }
  if ((message as Stamped).stopped === true) answer.stopped = true;
  else if (message.interrupted) answer.interrupted = true;
}

/**
 * Structured results were stored as JSON text; a page wants them back as JSON. The text is a
 * string inside the stored turn, so the turn's own depth check never saw its nesting: text that
 * nests deeper than {@link MAX_STORED_DEPTH} stays text, or sending the page would overflow the
 * stack in `JSON.stringify` on every read. (Tool inputs need no such check: they are part of
 * the stored turn's JSON, which is refused when read if it nests too deeply.)
 */
function parseOutput(content: string): unknown {
  const first = content.trimStart()[0];
  if (first !== '{' && first !== '[') return content;
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return content;
  }
  return nestsDeeperThan(value, MAX_STORED_DEPTH) ? content : value;
}

function turnTime(turn: StoredTurn): string | null {
  const first = turn[0];
  return first === undefined ? null : stampOf(first);
}

function stampOf(message: TranscriptMessage): string | null {
  const { at } = message as Stamped;
  return typeof at === 'string' ? at : null;
}

// Turns saved before timestamps existed count as the oldest.
function isBefore(at: string | null, before: string | undefined): boolean {
  if (before === undefined) return true;
  return at === null || Date.parse(at) < Date.parse(before);
}
