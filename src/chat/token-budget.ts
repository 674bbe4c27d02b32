import type { ToolSpec, TranscriptMessage } from '../types.js';

/** Counts the tokens of a text. Plug in a real tokenizer for exact budgets. */
export type TokenCounter = (text: string) => number;

/**
 * The default counter: about four characters a token, which over-counts slightly for English
 * and is close enough to keep a request under the context window with the margin we leave.
 */
export const estimateTokens: TokenCounter = (text) => Math.ceil(text.length / 4);

// Every message costs a few tokens of framing (role, separators) on every provider.
const MESSAGE_OVERHEAD = 4;

/**
 * The estimated size of one transcript message: its text, its tool calls, and the reasoning that
 * goes back with it (`reasoning`: DeepSeek's `reasoning_content`, Cohere's tool plan; the signed
 * thinking blocks of Anthropic extended thinking), which can be far longer than the answer.
 * @internal
 */
export function messageTokens(message: TranscriptMessage, count: TokenCounter): number {
  let total = MESSAGE_OVERHEAD + count(message.content);
  if (message.role === 'assistant') {
    if (message.reasoning) total += count(message.reasoning);
    for (const block of message.thinking ?? []) {
      total += count(block.type === 'thinking' ? block.thinking : block.data);
    }
    for (const call of message.toolCalls ?? []) total += count(call.name) + count(JSON.stringify(call.arguments));
  }
  if (message.role === 'tool' && message.images) total += message.images.length * 800;
  return total;
}

/** The estimated size of the tool schemas sent with every call. @internal */
export function toolSpecTokens(tools: readonly ToolSpec[], count: TokenCounter): number {
  let total = 0;
  for (const tool of tools)
    total += count(tool.name) + count(tool.description ?? '') + count(JSON.stringify(tool.inputSchema));
  return total;
}

/**
 * Splits a transcript into turns: each starts with a user message. Messages before the first
 * user message (left by a trimmed or corrupt store) form no turn and are dropped, so the result
 * never starts with an orphan tool result.
 * @internal
 */
export function splitTurns(messages: readonly TranscriptMessage[]): TranscriptMessage[][] {
  const turns: TranscriptMessage[][] = [];
  for (const message of messages) {
    if (message.role === 'user') turns.push([message]);
    else turns.at(-1)?.push(message);
  }
  return turns;
}

/**
 * Keeps the newest whole turns of `history` that fit in `budget` tokens together with the
 * current turn's messages (always kept). Whole turns go, oldest first, so a tool call is never
 * separated from its result.
 * @internal
 */
export function fitHistory(
  history: readonly TranscriptMessage[],
  current: readonly TranscriptMessage[],
  budget: number,
  count: TokenCounter,
): TranscriptMessage[] {
  let used = 0;
  for (const message of current) used += messageTokens(message, count);
  const turns = splitTurns(history);
  let first = turns.length;
  while (first > 0) {
    const turn = turns[first - 1] ?? [];
    let size = 0;
    for (const message of turn) size += messageTokens(message, count);
    if (used + size > budget) break;
    used += size;
    first -= 1;
  }
  return [...turns.slice(first).flat(), ...current];
}
