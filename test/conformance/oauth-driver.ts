/**
 * The conformance suite's "client under test": runs the chat handler in this process and drives
 * it the way a chat page and a browser would, against the scenario's MCP server (the last
 * command-line argument):
 * 1. `POST /connect`; on 403 `MCP_AUTHORIZATION_REQUIRED` the browser opens `authorization_url`
 *    (the suite's authorization server answers at once with a redirect), the redirect lands on
 *    `GET /oauth/callback`, and the page connects again;
 * 2. `POST /chat` (streaming) with a fake LLM that calls the scenario's `test-tool`; an `error`
 *    event `MCP_AUTHORIZATION_REQUIRED` (step-up) is handled the same way, then the chat is sent again.
 * Exits 0 when the tool ran, 1 otherwise. Scenario data (pre-registered clients, client
 * credentials) comes from `MCP_CONFORMANCE_CONTEXT`, as the suite documents.
 */
import { createChatHandler } from '../../src/index.js';
import { startFakeOpenAI } from '../fixtures/fake-openai-server.js';

const serverUrl = new URL(process.argv.at(-1) ?? '').href;
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? '{}') as {
  client_id?: string;
  client_secret?: string;
  private_key_pem?: string;
  signing_algorithm?: string;
};
const USER = 'conformance@example.com';
const BASE = 'http://chat.local/llmchat';
const MAX_AUTHORIZATIONS = 4;

const log = (...parts: unknown[]) => process.stderr.write(`${parts.map(String).join(' ')}\n`);

const fake = await startFakeOpenAI({
  reply: (request) => {
    const messages = (request.body as { messages: { role: string }[] }).messages;
    return messages.at(-1)?.role === 'tool'
      ? { kind: 'text', chunks: ['The tool answered.'] }
      : { kind: 'tool_calls', calls: [{ name: 'test-tool', arguments: {} }] };
  },
});

const machine = scenario.startsWith('auth/client-credentials');
const preRegistered = scenario === 'auth/pre-registration';
const handler = createChatHandler({
  authenticate: (request) => (request.headers.get('x-user') ? { id: request.headers.get('x-user') as string } : null),
  models: [{ id: 'fake', provider: 'openai', baseUrl: fake.url, apiKey: 'sk-fake' }],
  basePath: '/llmchat',
  mcp: { allowedUrls: [serverUrl] },
  sealKey: 'conformance-seal-key',
  oauth: {
    redirectUrl: `${BASE}/oauth/callback`,
    clientMetadataUrl: 'https://conformance-test.local/client-metadata.json',
    clientName: 'mcp-llmchat conformance driver',
    ...(machine || preRegistered
      ? {
          clients: {
            [serverUrl]: {
              clientId: context.client_id ?? '',
              ...(context.client_secret ? { clientSecret: context.client_secret } : {}),
              ...(context.private_key_pem ? { privateKeyPem: context.private_key_pem } : {}),
              ...(context.signing_algorithm ? { signingAlgorithm: context.signing_algorithm } : {}),
              ...(machine ? { grant: 'client_credentials' as const } : {}),
            },
          },
        }
      : {}),
  },
});

const call = (path: string, init: RequestInit = {}) =>
  handler.fetch(
    new Request(path.startsWith('http') ? path : `${BASE}${path}`, {
      ...init,
      headers: { 'x-user': USER, 'content-type': 'application/json', ...init.headers },
    }),
  );

let authorizations = 0;
/** What a browser does with `authorization_url`: follow redirects until our callback, and land it. */
async function authorize(authorizationUrl: string): Promise<void> {
  authorizations += 1;
  if (authorizations > MAX_AUTHORIZATIONS) throw new Error('too many authorizations');
  let url = authorizationUrl;
  for (let hop = 0; hop < 5; hop++) {
    if (url.startsWith(`${BASE}/`)) {
      const landed = await call(url, { method: 'GET' });
      log('callback', landed.status);
      if (landed.status !== 200) throw new Error(`callback answered ${landed.status}: ${await landed.text()}`);
      return;
    }
    const response = await fetch(url, { redirect: 'manual' });
    const location = response.headers.get('location');
    if (!location) throw new Error(`authorization server answered ${response.status} without a redirect`);
    url = new URL(location, url).href;
  }
  throw new Error('too many redirects');
}

async function connect(): Promise<void> {
  for (;;) {
    const response = await call('/connect', {
      method: 'POST',
      body: JSON.stringify({ server: { url: serverUrl }, llm: { model: 'fake' }, streaming: true }),
    });
    const body = (await response.json()) as { code?: string; authorization_url?: string; tools?: string[] };
    log('connect', response.status, body.code ?? '', body.tools?.join(',') ?? '');
    if (response.status === 200) return;
    if (body.code !== 'MCP_AUTHORIZATION_REQUIRED' || !body.authorization_url) throw new Error(`connect failed`);
    await authorize(body.authorization_url);
  }
}

async function chat(): Promise<void> {
  for (;;) {
    const response = await call('/chat', {
      method: 'POST',
      body: JSON.stringify({ message: 'Use the tool.', streaming: true }),
    });
    const text = await response.text();
    const events = text
      .split('\n\n')
      .map((frame) => frame.split('\n').find((line) => line.startsWith('data: ')))
      .filter((line): line is string => line !== undefined)
      .map((line) => JSON.parse(line.slice(6)) as { type?: string; code?: string; authorization_url?: string });
    const last = events.at(-1);
    log('chat', response.status, events.map((event) => event.type ?? 'token').join(','), last?.code ?? '');
    if (last?.type === 'final') {
      if (!events.some((event) => event.type === 'tool_end')) throw new Error('the tool did not run');
      return;
    }
    if (last?.code !== 'MCP_AUTHORIZATION_REQUIRED' || !last.authorization_url) throw new Error('chat failed');
    await authorize(last.authorization_url);
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
