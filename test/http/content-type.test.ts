import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTS, MOUNT, type RunningHost } from '../adapters/hosts.js';
import { jsonRequest, type Stack, startStack } from './stack.js';

// A cross-site form or Blob POST reaches us with no CORS preflight, and it cannot say
// `application/json`. Every route that takes a body must refuse anything else, before acting.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

function post(path: string, user: string, body: string, contentType: string | undefined): Request {
  const headers: Record<string, string> = { authorization: `Bearer user:${user}` };
  if (contentType !== undefined) headers['content-type'] = contentType;
  // Bytes, not a string: a string body would get `text/plain` from the Request constructor.
  return new Request(`http://local${path}`, { method: 'POST', headers, body: new TextEncoder().encode(body) });
}

const REFUSED = [
  ['no Content-Type', undefined],
  ['text/plain', 'text/plain'],
  ['a form', 'application/x-www-form-urlencoded'],
  ['multipart', 'multipart/form-data; boundary=x'],
  ['a look-alike', 'application/jsonp'],
] as const;

describe('Content-Type on body routes', () => {
  it.each(REFUSED)('refuses %s with 415 on /connect, /chat and /disconnect, and changes nothing', async (_n, type) => {
    const { handler } = stack;
    const user = `ct-${type ?? 'none'}`.replace(/\W+/g, '-');
    expect((await handler.fetch(jsonRequest('/connect', user, { llm: { model: 'fake' } }))).status).toBe(200);
    const bodies: Array<[string, unknown]> = [
      ['/connect', { llm: { model: 'fake' } }],
      ['/chat', { message: 'hello' }],
      ['/disconnect', {}],
    ];
    for (const [path, body] of bodies) {
      const response = await handler.fetch(post(path, user, JSON.stringify(body), type));
      expect([path, response.status, (await response.json()).code]).toEqual([path, 415, 'UNSUPPORTED_MEDIA_TYPE']);
    }
    const status = await (await handler.fetch(jsonRequest(`/status/${user}`, user))).json();
    expect(status.connected).toBe(true);
    expect(stack.llm.requests.filter((r) => JSON.stringify(r.body).includes(user))).toEqual([]);
  });

  it('accepts application/json with parameters and +json types', async () => {
    const { handler } = stack;
    for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/vnd.api+json']) {
      const response = await handler.fetch(post('/connect', 'ct-ok', JSON.stringify({ llm: { model: 'fake' } }), type));
      expect([type, response.status]).toEqual([type, 200]);
    }
  });

  it.each(HOSTS.filter((host) => host.body === 'host').slice(0, 2))('answers 415 through $name too', async (host) => {
    const running: RunningHost = await host.start(stack.handler);
    try {
      for (const type of ['text/plain', undefined]) {
        const headers: Record<string, string> = { authorization: 'Bearer user:ct-host' };
        if (type) headers['content-type'] = type;
        const response = await fetch(`${running.origin}${MOUNT}/disconnect`, {
          method: 'POST',
          headers,
          body: new TextEncoder().encode('{}'),
        });
        expect([type, response.status]).toEqual([type, 415]);
      }
    } finally {
      await running.close();
    }
  });
});
