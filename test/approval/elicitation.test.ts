import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AskBroker } from '../../src/asks/ask-broker.js';
import { arrayHistory } from '../../src/chat/chat-history.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { createElicitationRelay } from '../../src/elicitation/elicitation-relay.js';
import { validateElicitationContent } from '../../src/elicitation/elicitation-schema.js';
import { McpToolbox } from '../../src/mcp/mcp-toolbox.js';
import { memoryStorage } from '../../src/storage.js';
import type { ChatEvent, ElicitationEvent } from '../../src/types.js';
import { call, finish, scriptedProvider, text } from '../chat/scripted.js';

const toolboxes: McpToolbox[] = [];
afterEach(async () => {
  await Promise.all(toolboxes.splice(0).map((toolbox) => toolbox.close()));
});

/** A real SDK server whose `convert` tool asks the user which unit system to use. */
function unitsServer(seen: { capabilities?: unknown; answers: unknown[] }) {
  const server = new McpServer({ name: 'units', version: '1.0.0' });
  server.registerTool(
    'convert',
    { description: 'Converts 10 km.', inputSchema: { km: z.number() } },
    async ({ km }) => {
      seen.capabilities = server.server.getClientCapabilities();
      const answer = await server.server.elicitInput({
        message: 'Which unit system?',
        requestedSchema: {
          type: 'object',
          properties: { system: { type: 'string', enum: ['metric', 'imperial'], default: 'imperial' } },
        },
      });
      seen.answers.push(answer);
      if (answer.action !== 'accept') return { content: [{ type: 'text', text: `no answer (${answer.action})` }] };
      const system = (answer.content as { system?: string }).system;
      return { content: [{ type: 'text', text: system === 'imperial' ? `${km * 0.621371} mi` : `${km} km` }] };
    },
  );
  return server;
}

async function connect(seen: { capabilities?: unknown; answers: unknown[] }, elicitation: boolean) {
  const toolbox = await McpToolbox.connect([{ name: 'units' }], {
    elicitation,
    createTransport: async () => {
      const [client, serverSide] = InMemoryTransport.createLinkedPair();
      await unitsServer(seen).connect(serverSide);
      return client;
    },
  });
  toolboxes.push(toolbox);
  return toolbox;
}

describe('MCP elicitation relayed to the user', () => {
  it('sends an elicitation event, takes the answer from another process, and applies form defaults', async () => {
    const seen: { capabilities?: unknown; answers: unknown[] } = { answers: [] };
    const toolbox = await connect(seen, true);
    const storage = memoryStorage();
    const relay = createElicitationRelay({
      broker: new AskBroker(storage.sessions, storage.bus),
      userId: 'ann',
      conversationId: 'default',
      canAsk: true,
      timeoutMs: 5_000,
    });
    const answering = new AskBroker(storage.sessions, storage.bus);
    const provider = scriptedProvider([
      [call('c1', 'convert', { km: 10 }), finish('tool_calls')],
      [text('Done.'), finish()],
    ]);
    const service = new ChatService({ provider, model: 'm', tools: toolbox });
    const events: ChatEvent[] = [];
    const answers: Promise<unknown>[] = [];
    for await (const event of service.chat('convert', { history: arrayHistory(), elicitor: relay })) {
      events.push(event);
      if (event.type === 'elicitation') {
        // Accept with no content: the form's default ("imperial") applies.
        answers.push(
          answering.answer('ann', 'elicitation', event.id, undefined, (pending) => ({
            action: 'accept',
            content: validateElicitationContent(pending.details?.schema as never, undefined),
          })),
        );
      }
    }
    await Promise.all(answers);
    const asked = events.find((e) => e.type === 'elicitation') as ElicitationEvent;
    expect(asked).toMatchObject({ server: 'units', mode: 'form', message: 'Which unit system?' });
    expect(asked.requested_schema).toMatchObject({ properties: { system: { enum: ['metric', 'imperial'] } } });
    expect(seen.capabilities).toMatchObject({ elicitation: { form: {}, url: {} } });
    expect(seen.answers).toEqual([{ action: 'accept', content: { system: 'imperial' } }]);
    expect(events.find((e) => e.type === 'tool_end')).toMatchObject({ output: '6.21371 mi' });
  });

  it('declares no elicitation capability unless the host turns it on', async () => {
    const seen: { capabilities?: unknown; answers: unknown[] } = { answers: [] };
    const toolbox = await connect(seen, false);
    const result = await toolbox.callTool('convert', { km: 1 });
    expect(seen.capabilities).not.toHaveProperty('elicitation');
    // The SDK server refuses to elicit from a client without the capability: the tool fails.
    expect(result.isError).toBe(true);
  });

  it('cancels when no answer comes in time, or when the turn cannot ask', async () => {
    const seen: { capabilities?: unknown; answers: unknown[] } = { answers: [] };
    const toolbox = await connect(seen, true);
    const storage = memoryStorage();
    const broker = new AskBroker(storage.sessions, storage.bus);
    for (const [canAsk, timeoutMs] of [
      [true, 100],
      [false, 5_000],
    ] as const) {
      const relay = createElicitationRelay({ broker, userId: 'ann', conversationId: 'default', canAsk, timeoutMs });
      const provider = scriptedProvider([
        [call('c', 'convert', { km: 1 }), finish('tool_calls')],
        [text('ok'), finish()],
      ]);
      const service = new ChatService({ provider, model: 'm', tools: toolbox });
      const result = await service.complete('x', { elicitor: relay });
      expect(result.tool_invocations.find((e) => e.type === 'tool_end')).toMatchObject({
        output: 'no answer (cancel)',
      });
    }
    expect(seen.answers).toEqual([{ action: 'cancel' }, { action: 'cancel' }]);
  });
});
