import type { ToolSpec } from '../types.js';

/**
 * The tools of a request, serialized once per tool list and in a byte-stable order.
 *
 * Prompt caches (OpenAI's automatic one, Anthropic's `cache_control`) only hit on an identical
 * prefix, and the tool list is most of that prefix in an MCP-heavy chat. Sorting by name keeps
 * the bytes the same whatever order the MCP servers listed their tools in, and remembering the
 * JSON per list (the session's tool list is one array for its lifetime) saves serializing
 * thousands of tokens of schemas on every call.
 * @internal
 */
export class ToolJsonCache {
  readonly #json = new WeakMap<readonly ToolSpec[], string>();
  readonly #map: (tools: readonly ToolSpec[]) => unknown[];

  /** `map` turns the sorted tools into the provider's tool objects. */
  constructor(map: (tools: readonly ToolSpec[]) => unknown[]) {
    this.#map = map;
  }

  /** The JSON array text of `tools` (sorted by name), or `undefined` for none. */
  get(tools: readonly ToolSpec[] | undefined): string | undefined {
    if (!tools || tools.length === 0) return undefined;
    let json = this.#json.get(tools);
    if (json === undefined) {
      json = JSON.stringify(this.#map(sortTools(tools)));
      this.#json.set(tools, json);
    }
    return json;
  }
}

/** `tools` sorted by name, by code unit so no locale can change the order. @internal */
export function sortTools(tools: readonly ToolSpec[]): ToolSpec[] {
  return [...tools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * `body` as JSON text with `"tools": <toolsJson>` appended, so the pre-serialized tool list is
 * spliced in instead of serialized again.
 * @internal
 */
export function jsonWithTools(body: Record<string, unknown>, toolsJson: string | undefined): string {
  const json = JSON.stringify(body);
  if (toolsJson === undefined) return json;
  return json === '{}' ? `{"tools":${toolsJson}}` : `${json.slice(0, -1)},"tools":${toolsJson}}`;
}
