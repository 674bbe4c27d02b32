import { describe, expect, it } from 'vitest';
import {
  ChatService,
  Conversations,
  MemoryConversationBackend,
  MemorySessionBackend,
  SessionStore,
} from '../../src/engine.js';
import type { LlmProvider, LlmRequest } from '../../src/llm/llm-provider.js';
import type { ToolSource } from '../../src/mcp/tool-source.js';

// The README's "Conversations without HTTP": a worker or a CLI runs turns in a named conversation
// with the building blocks of `mcp-llmchat/engine`, and the handler's routes would see them.

/** A provider that answers "answer <n>" and records what it was sent. */
function recordingProvider(sent: LlmRequest[]): LlmProvider {
  return {
    kind: 'openai',
    async *stream(request) {
      sent.push(request);
      yield { type: 'text', text: `answer ${sent.length}` };
      yield { type: 'finish', reason: 'stop' };
    },
  };
}

const noTools: ToolSource = {
  listTools: () => [],
  callTool: async () => ({ text: '', output: '', isError: false }),
  close: async () => {},
};

async function drain(events: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of events) {
    // the turn runs as it is read
  }
}

describe('Conversations without HTTP (README example)', () => {
  it('keeps each named conversation’s history and lists them newest first', async () => {
    const store = new SessionStore(new MemorySessionBackend());
    let tick = 0;
    const conversations = new Conversations(store, new MemoryConversationBackend(), {
      historyTtlMs: 3_600_000,
      now: () => Date.now() + tick++, // real time (the backend expires entries by it), never equal twice
    });
    const sent: LlmRequest[] = [];
    const service = new ChatService({ provider: recordingProvider(sent), model: 'm', tools: noTools });

    await drain(service.chat('Plan my trip', { history: conversations.history('alice', 'trip') }));
    await drain(service.chat('Fix my bike', { history: conversations.history('alice', 'bike') }));
    await drain(service.chat('And the hotel?', { history: conversations.history('alice', 'trip') }));

    // The third turn was sent the trip's first turn, and nothing of the bike.
    const third = JSON.stringify(sent[2]?.messages);
    expect(third).toContain('Plan my trip');
    expect(third).toContain('answer 1');
    expect(third).not.toContain('Fix my bike');

    const { conversations: list } = await conversations.list('alice', { limit: 20 });
    expect(list.map((entry) => [entry.conversationId, entry.title, entry.turns])).toEqual([
      ['trip', 'Plan my trip', 2],
      ['bike', 'Fix my bike', 1],
    ]);
    const page = await conversations.page('alice', 'trip', { limit: 10 });
    expect(JSON.stringify(page)).toContain('And the hotel?');
    expect(JSON.stringify(page)).toContain('answer 3');

    await conversations.delete('alice', 'bike');
    const after = await conversations.list('alice', { limit: 20 });
    expect(after.conversations.map((entry) => entry.conversationId)).toEqual(['trip']);
    expect(await store.getHistory('alice', 'bike')).toEqual([]);
  });
});
