import { describe, expect, it } from 'vitest';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import { McpToolbox } from '../../src/mcp/mcp-toolbox.js';
import type { ChatEvent } from '../../src/types.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic-server.js';
import { connectInMemory, createTestMcpStats } from '../fixtures/test-mcp-server.js';

describe('ChatService end to end with Anthropic and a real MCP server', () => {
  it('streams a turn with two parallel tool calls and an image, and keeps the transcript', async () => {
    const stats = createTestMcpStats();
    const llm = await startFakeAnthropic({
      reply: (request) => {
        const last = request.body.messages.at(-1);
        const results = Array.isArray(last.content)
          ? last.content.filter((b: { type: string }) => b.type === 'tool_result')
          : [];
        if (results.length > 0) return { kind: 'text', chunks: ['Sum is ', '5', ' and I saw an image.'] };
        return {
          kind: 'tool_calls',
          text: ['Let me check. '],
          calls: [
            { name: 'add', arguments: { a: 2, b: 3 } },
            { name: 'image', arguments: {} },
          ],
        };
      },
    });
    const tools = await McpToolbox.connect([{ name: 'test' }], { createTransport: () => connectInMemory(stats) });
    try {
      const provider = new AnthropicProvider({ baseUrl: llm.url, apiKey: 'test-key' });
      const service = new ChatService({
        provider,
        model: 'claude-test',
        tools,
        supportsVision: true,
        systemPrompt: 'Be brief.',
      });
      const history = arrayHistory();
      const events: ChatEvent[] = [];
      for await (const event of service.chat('add 2 and 3 and show me a picture', { history })) events.push(event);

      expect(events.filter((e) => e.type === 'tool_start').map((e) => (e as { tool: string }).tool)).toEqual([
        'add',
        'image',
      ]);
      expect(events.filter((e) => e.type === 'tool_end')).toHaveLength(2);
      expect(events.at(-1)).toMatchObject({
        type: 'final',
        content: 'Let me check. Sum is 5 and I saw an image.',
        tools: ['add', 'image'],
      });
      const second = llm.requests[1]?.body;
      expect(second.system).toEqual([{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }]);
      const toolResults = second.messages.at(-1).content;
      expect(toolResults.map((block: { type: string }) => block.type)).toEqual(['tool_result', 'tool_result']);
      // Vision is on: the image reached the model as an image block.
      expect(JSON.stringify(toolResults[1])).toContain('"type":"image"');
      expect(history.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'tool', 'assistant']);
      expect(stats.calls).toMatchObject({ add: 1, image: 1 });
    } finally {
      await tools.close();
      await llm.close();
    }
  });
});
