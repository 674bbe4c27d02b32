import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FetchLike } from '../../src/types.js';
import { jsonRequest, SECRETS, type Stack, startStack } from './stack.js';

// Users who connect while a listing of the very same servers runs share it: one MCP session for
// a burst of reconnects to a shared server, never for different credentials, never remembered.
describe('/connect shares a running tool listing of the same servers', () => {
  let stack: Stack;
  let initializes = 0;
  /** While set, every handshake waits this long first: connects arriving meanwhile overlap it. */
  let holdMs = 0;
  /** While set, the MCP server is unreachable. */
  let down = false;

  const recording: FetchLike = async (input, init) => {
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { method?: string }) : undefined;
    const url = input instanceof URL ? input.href : input;
    if (url === stack.mcp.url && body?.method === 'initialize') {
      initializes += 1;
      if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
      if (down) throw new TypeError('fetch failed');
    }
    return fetch(input, init);
  };

  beforeAll(async () => {
    stack = await startStack({
      fetch: recording,
      // A header of the user's team: teammates reach the server with the same configuration.
      serverAuth: ({ user }) => ({ 'x-team': user.id.split('-')[0] ?? '' }),
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  afterEach(() => {
    initializes = 0;
    holdMs = 0;
    down = false;
  });

  const connect = (user: string) => stack.handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }));

  it('lists once for teammates connecting at the same moment, and each gets the tools', async () => {
    holdMs = 100;
    const answers = await Promise.all(['red-1', 'red-2', 'red-3', 'red-4'].map(connect));
    const bodies = (await Promise.all(answers.map((answer) => answer.json()))) as Array<{
      user_id: string;
      tools: string[];
    }>;
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(bodies.map((body) => body.user_id)).toEqual(['red-1', 'red-2', 'red-3', 'red-4']);
    for (const body of bodies) expect(body.tools).toContain('add');
    expect(initializes).toBe(1);
    // Each has a session of its own, which chats.
    const chat = await stack.handler.fetch(jsonRequest('/chat', 'red-3', { message: 'add 2 and 3', streaming: false }));
    expect(((await chat.json()) as { response: string }).response).toBe('The result is 5.');
    expect(stack.mcp.sessionCount).toBeLessThanOrEqual(1);
  });

  it('lists apart for different credentials connecting at the same moment', async () => {
    holdMs = 100;
    const answers = await Promise.all(['red-1', 'blue-1', 'green-1'].map(connect));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(initializes).toBe(3);
  });

  it('lists apart for teammates who name the server with tokens of their own', async () => {
    holdMs = 100;
    const withToken = (user: string, token: string) =>
      stack.handler.fetch(
        jsonRequest('/connect', user, { server: { url: stack.mcp.url, auth_token: token }, llm: { model: 'fake' } }),
      );
    // The test server takes only its own token: a listing made with it answers 200, another 401s.
    const [own, other] = await Promise.all([withToken('red-1', SECRETS.mcpToken), withToken('red-2', 'not-the-token')]);
    expect(own.status).toBe(200);
    expect(other.status).not.toBe(200);
    expect(initializes).toBe(2);
  });

  it('keeps nothing: a connect after the listing ended lists again', async () => {
    expect((await connect('red-1')).status).toBe(200);
    expect((await connect('red-2')).status).toBe(200);
    expect(initializes).toBe(2);
  });

  it('fails every connect that shared a failed listing, and the next one tries again', async () => {
    holdMs = 100;
    down = true;
    const answers = await Promise.all(['red-1', 'red-2', 'red-3'].map(connect));
    const codes = await Promise.all(answers.map(async (answer) => ((await answer.json()) as { code?: string }).code));
    expect(answers.map((answer) => answer.status >= 500)).toEqual([true, true, true]);
    expect(new Set(codes)).toEqual(new Set(['MCP_UNAVAILABLE']));
    expect(initializes).toBe(1);
    down = false;
    holdMs = 0;
    expect((await connect('red-1')).status).toBe(200);
    expect(initializes).toBe(2);
  });
});
