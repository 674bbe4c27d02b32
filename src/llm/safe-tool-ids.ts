// Anthropic and Bedrock Converse both refuse a tool_use id or name outside this pattern (Bedrock
// caps both at 64 characters; Anthropic caps names there).
const SAFE = /^[a-zA-Z0-9_-]{1,64}$/;
const UNSAFE_CHARACTERS = /[^a-zA-Z0-9_-]/g;

/**
 * A tool call id Anthropic and Bedrock accept (`[a-zA-Z0-9_-]{1,64}`): a valid id unchanged (so
 * their own ids and the prompt cache are untouched), any other (`functions.search:0` from an
 * OpenAI-compatible server, a history written by another model) its readable part plus a hash
 * of the whole id. Apply it to the call and to its result: the same id always maps the same way,
 * so they still match, and two ids that differ only in refused characters stay apart.
 * @internal
 */
export function safeToolCallId(id: string): string {
  if (SAFE.test(id)) return id;
  const hash = hashOf(id);
  return `${id.replace(UNSAFE_CHARACTERS, '_').slice(0, 64 - 1 - hash.length)}_${hash}`;
}

/**
 * A tool name Anthropic and Bedrock accept in a past tool call: a valid name unchanged (the names
 * offered are already valid), any other (`multi_tool_use.parallel`, a name another model made up)
 * with refused characters as `_`, cut to 64. Results carry no name there, so nothing needs to match.
 * @internal
 */
export function safeToolName(name: string): string {
  if (SAFE.test(name)) return name;
  return name === '' ? '_' : name.replace(UNSAFE_CHARACTERS, '_').slice(0, 64);
}

/** FNV-1a twice with different seeds, as 16 hex digits: plain arithmetic, no crypto module needed. */
function hashOf(text: string): string {
  let high = 0x811c9dc5;
  let low = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    high = Math.imul(high ^ code, 0x01000193) >>> 0;
    low = Math.imul(low ^ code, 0x01000193) >>> 0;
  }
  return high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0');
}
