import { LlmChatError } from '../../src/errors.js';
import type { LlmProvider, LlmRequest, LlmStreamEvent } from '../../src/llm/llm-provider.js';
import type { ToolCallOptions, ToolResult, ToolSource } from '../../src/mcp/tool-source.js';
import type { ToolSpec } from '../../src/types.js';

/** One scripted LLM call: the events it streams, or a function of the request. */
export type ScriptedCall = LlmStreamEvent[] | ((request: LlmRequest) => LlmStreamEvent[]);

/**
 * An in-process LlmProvider that replays scripted calls and records every request, for unit
 * tests of the loop. Each event waits a macrotask, like network chunks would; an aborted signal
 * ends the call with ABORTED.
 */
export function scriptedProvider(calls: ScriptedCall[], options: { delayMs?: number } = {}) {
  const requests: LlmRequest[] = [];
  const provider: LlmProvider & { requests: LlmRequest[] } = {
    kind: 'scripted',
    requests,
    async *stream(request, callOptions) {
      requests.push(structuredClone(request));
      const script = calls.shift();
      if (!script) throw new LlmChatError('PROVIDER_ERROR', 'No scripted call left.');
      const events = typeof script === 'function' ? script(request) : script;
      for (const event of events) {
        await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 0));
        if (callOptions?.signal?.aborted) throw new LlmChatError('ABORTED', 'The LLM call was aborted.');
        yield event;
      }
    },
  };
  return provider;
}

export const text = (value: string): LlmStreamEvent => ({ type: 'text', text: value });
export const call = (id: string, name: string, args: Record<string, unknown> = {}): LlmStreamEvent => ({
  type: 'tool_call',
  id,
  name,
  arguments: args,
});
export const finish = (reason: 'stop' | 'tool_calls' = 'stop'): LlmStreamEvent => ({ type: 'finish', reason });

/** A ToolSource over plain functions; records calls and their signals. */
export function functionTools(
  tools: Record<string, (args: Record<string, unknown>, options: ToolCallOptions) => Promise<ToolResult>>,
) {
  const calls: Array<{ name: string; args: Record<string, unknown>; signal: AbortSignal | undefined }> = [];
  let closed = false;
  const source: ToolSource & { calls: typeof calls; readonly closed: boolean } = {
    calls,
    get closed() {
      return closed;
    },
    listTools: (): ToolSpec[] =>
      Object.keys(tools).map((name) => ({ name, description: `the ${name} tool`, inputSchema: { type: 'object' } })),
    async callTool(name, args, options = {}) {
      calls.push({ name, args, signal: options.signal });
      const tool = tools[name];
      if (!tool) throw new LlmChatError('TOOL_ERROR', `Unknown tool '${name}'.`);
      return tool(args, options);
    },
    async close() {
      closed = true;
    },
  };
  return source;
}

export const ok = (value: string): ToolResult => ({ text: value, output: value, isError: false });
