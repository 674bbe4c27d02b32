import type { TranscriptMessage } from '../types.js';

/**
 * Whether a Messages API call with these messages may have extended thinking on. With thinking
 * on, the API refuses two requests the library can make, so such a call goes without it (the
 * API documents thinking as something a call may leave off):
 * - an open tool loop whose assistant message has no thinking blocks (a turn rebuilt after a
 *   takeover from its event log, which holds no signed thinking, or one another model began):
 *   "Expected `thinking` or `redacted_thinking`, but found `tool_use`";
 * - an assistant prefill, the last message, which continues a cut answer: thinking and
 *   prefilled answers do not go together.
 * Otherwise (a new user message, or a tool loop that kept its signed blocks) thinking stays on.
 * Looks back only to the last assistant message.
 * @internal
 */
export function thinkingFits(messages: readonly TranscriptMessage[]): boolean {
  let i = messages.length - 1;
  let asked = false;
  while (i >= 0 && messages[i]?.role === 'user') {
    asked = true;
    i--;
  }
  // User text right after tool results is merged into their message (an interrupted turn's
  // results, then the next question): the API still reads that as the tool loop going on.
  let answersCalls = false;
  while (i >= 0 && messages[i]?.role === 'tool') {
    answersCalls = true;
    i--;
  }
  const before = messages[i];
  if (before?.role !== 'assistant') return true;
  // No results: a question after an answer (on), or the answer itself last, a prefill (off).
  if (!answersCalls) return asked;
  return (before.thinking?.length ?? 0) > 0;
}
