/**
 * The conformance suite's "client under test" for the elicitation scenarios: runs the chat
 * handler (elicitation turned on) in this process and drives it the way a chat page would,
 * against the scenario's MCP server (the last command-line argument):
 * 1. `POST /connect` to the scenario's server;
 * 2. `POST /chat` (streaming) with a fake LLM that calls the server's one tool;
 * 3. on the `elicitation` event, `POST /elicitation` with `accept` and no content: the handler
 *    fills in the form's defaults, which is what the scenario grades.
 * Exits 0 when the tool ran and the turn ended, 1 otherwise; what it saw goes to stderr.
 */
import { createParser } from 'eventsource-parser';
import { createChatHandler } from '../../src/index.js';
import { startFakeOpenAI } from '../fixtures/fake-openai-server.js';

const serverUrl = new URL(process.argv.at(-1) ?? '').href;
const USER = 'conformance@example.com';
const BASE = 'http://chat.local/llmchat';
const log = (...parts: unknown[]) => process.stderr.write(`${parts.map(String).join(' ')}\n`);

/** The tool the scenario's server lists, learned from `/connect`. */
let tool = '';
const fake = await startFakeOpenAI({
  reply: (request) => {
    const messages = (request.body as { messages: { role: string }[] }).messages;
    return messages.at(-1)?.role === 'tool'
      ? { kind: 'text', chunks: ['The tool answered.'] }
      : { kind: 'tool_calls', calls: [{ name: tool, arguments: {} }] };
  },
});

const handler = createChatHandler({
  authenticate: (request) => (request.headers.get('x-user') ? { id: request.headers.get('x-user') as string } : null),
  models: [{ id: 'fake', provider: 'openai', baseUrl: fake.url, apiKey: 'sk-fake' }],
  basePath: '/llmchat',
  mcp: { allowedUrls: [serverUrl] },
  elicitation: { timeoutMs: 20_000 },
});

const call = (path: string, body: unknown) =>
  handler.fetch(
    new Request(`${BASE}${path}`, {
      method: 'POST',
      headers: { 'x-user': USER, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );

async function connect(): Promise<void> {
  const response = await call('/connect', {
    server: { url: serverUrl },
    llm: { model: 'fake' },
    streaming: true,
  });
  const body = (await response.json()) as { tools?: string[]; code?: string };
  log('connect', response.status, body.code ?? '', body.tools?.join(',') ?? '');
  if (response.status !== 200 || !body.tools?.[0]) throw new Error('connect failed');
  tool = body.tools[0];
}

async function chat(): Promise<void> {
  const response = await call('/chat', { message: 'Use the tool.', streaming: true });
  if (!response.body) throw new Error(`chat answered ${response.status} without a stream`);
  const events: { type?: string; id?: string }[] = [];
  const answers: Promise<void>[] = [];
  const parser = createParser({
    onEvent: (frame) => {
      const event = JSON.parse(frame.data) as { type?: string; id?: string };
      events.push(event);
      if (event.type !== 'elicitation') return;
      // What a user does who accepts the form as it is: no content, so the defaults apply.
      answers.push(
        call('/elicitation', { id: event.id, action: 'accept' }).then(async (answered) => {
          log('elicitation', answered.status, await answered.text());
        }),
      );
    },
  });
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    parser.feed(decoder.decode(read.value, { stream: true }));
  }
  await Promise.all(answers);
  log('chat', response.status, events.map((event) => event.type ?? 'token').join(','));
  if (events.at(-1)?.type !== 'final' || !events.some((event) => event.type === 'tool_end')) {
    throw new Error('the turn did not run the tool to the end');
  }
}

let exitCode = 0;
try {
  await connect();
  await chat();
} catch (error) {
  log('driver failed:', error instanceof Error ? error.message : error);
  exitCode = 1;
} finally {
  await handler.close();
  await fake.close();
}
process.exit(exitCode);
