import { afterEach, describe, expect, it } from 'vitest';
import { jsonRequest, type Stack, startStack } from './stack.js';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function head(path: string, user: string | null) {
  const request = jsonRequest(path, user);
  return new Request(request.url, { method: 'HEAD', headers: request.headers });
}

describe('HEAD requests', () => {
  it("answers a reading route with the GET's status and headers and no body", async () => {
    stack = await startStack();
    expect((await stack.handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
    for (const path of ['/status/ann', '/gateway/models', '/history/ann', '/conversations/ann']) {
      const response = await stack.handler.fetch(head(path, 'ann'));
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toMatch(/^application\/json/);
      expect(response.body, path).toBeNull();
    }
    // An error is an error for HEAD too, without its body.
    const denied = await stack.handler.fetch(head('/status/bob', 'ann'));
    expect(denied.status).toBe(403);
    expect(denied.body).toBeNull();
  });

  it('refuses HEAD on the event stream and the OAuth callback: their GET does more than read', async () => {
    stack = await startStack();
    expect((await stack.handler.fetch(jsonRequest('/connect', 'ann', { llm: { model: 'fake' } }))).status).toBe(200);
    const running = await stack.handler.fetch(
      jsonRequest('/chat', 'ann', { message: 'answer slowly but briefly', streaming: true }),
    );
    expect(running.status).toBe(200);
    for (const path of ['/chat/events/ann', '/oauth/callback?state=s&code=c']) {
      const response = await stack.handler.fetch(head(path, 'ann'));
      expect(response.status, path).toBe(405);
      expect(response.headers.get('allow')?.split(', '), path).toContain('GET');
      expect(response.body, path).toBeNull();
    }
    await running.body?.cancel();
  });
});
