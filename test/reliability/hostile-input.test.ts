import { createServer, Agent as HttpAgent, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import type { ChatHandler } from '../../src/http/chat-handler.js';
import { createChatHandler } from '../../src/http/create-chat-handler.js';
import type { FetchLike } from '../../src/types.js';
import { HOSTS, MOUNT, type RunningHost } from '../adapters/hosts.js';
import { SECRETS, type Stack, startStack } from '../http/stack.js';

// Thousands of generated hostile requests (bodies, paths, headers) over a real socket: every
// answer is a JSON 4xx (or a 200 for a valid request), never a 5xx; nothing reaches a host the
// allow-list did not name; Object.prototype stays clean. Reproduce a failure with FUZZ_SEED.
const REQUESTS = 5200;
const CONCURRENCY = 16;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);
const USERS = ['fz0', 'fz1', 'fz2', 'fz3', 'fz4', 'fz5'];
const MAX_BODY = 1024 * 1024;

interface Probe {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /**
   * A connect that reaches the allowed server without the host's token: either it hands over a
   * client-chosen `auth_token`, or it names the server by a URL other than the host's exact
   * default (the host's token goes only to that one), so the test server refuses it, which the
   * contract answers with 503 MCP_UNAVAILABLE.
   */
  withoutHostToken?: boolean;
}

interface Outcome {
  status: number;
  contentType: string;
  text: string;
}

describe('hostile input', () => {
  let stack: Stack;
  let handler: ChatHandler;
  let host: RunningHost;
  let redirector: Server;
  let trap: Server;
  let redirectorUrl: string;
  let trapHits = 0;
  const violations: string[] = [];
  const logged: string[] = [];
  const agent = new HttpAgent({ keepAlive: true, maxSockets: CONCURRENCY });
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  beforeAll(async () => {
    stack = await startStack();
    trap = await listen((_req, res) => {
      trapHits += 1;
      res.end('trapped');
    });
    const trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/mcp`;
    redirector = await listen((_req, res) => {
      res.writeHead(302, { location: trapUrl }).end();
    });
    redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/mcp`;
    const allowedOrigins = new Set([new URL(stack.mcp.url).origin, new URL(redirectorUrl).origin]);
    // Only the allow-listed servers may ever be fetched: anything else is recorded and refused.
    const mcpFetch: FetchLike = (input, init) => {
      const url = new URL(String(input));
      if (!allowedOrigins.has(url.origin)) {
        violations.push(`mcp fetch to ${url.origin}`);
        return Promise.reject(new TypeError('blocked by the test'));
      }
      if (init?.redirect !== 'error') violations.push(`mcp fetch without redirect: 'error' (${init?.redirect})`);
      return fetch(input, init);
    };
    const llmFetch: FetchLike = (input, init) => {
      const url = new URL(String(input));
      if (url.origin !== stack.llm.origin) {
        violations.push(`llm fetch to ${url.origin}`);
        return Promise.reject(new TypeError('blocked by the test'));
      }
      return fetch(input, init);
    };
    const log = (level: string) => (message: string, meta?: Record<string, unknown>) => {
      logged.push(`${level} ${message} ${JSON.stringify(meta ?? {}, (_k, v) => (v instanceof Error ? String(v) : v))}`);
    };
    handler = createChatHandler({
      ...stack.options,
      mcp: {
        defaultServer: { url: stack.mcp.url, authToken: SECRETS.mcpToken },
        allowedUrls: [stack.mcp.url, redirectorUrl],
      },
      fetch: mcpFetch,
      llm: { fetch: llmFetch, maxRetries: 0 },
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    });
    const nodeBridge = HOSTS.find((kind) => kind.name === 'node:http bridge');
    if (!nodeBridge) throw new Error('no node bridge host');
    host = await nodeBridge.start(handler);
  }, 30_000);

  afterAll(async () => {
    agent.destroy();
    await host?.close();
    await handler?.close();
    await stack?.close();
    await Promise.all([trap, redirector].map((server) => server && close(server)));
  });

  function send(probe: Probe): Promise<Outcome> {
    const { port } = new URL(host.origin);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: probe.method, path: probe.path, headers: probe.headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(20_000, () => req.destroy(new Error(`timeout: ${probe.method} ${probe.path}`)));
      req.on('error', reject);
      req.end(probe.body);
    });
  }

  it(`answers ${REQUESTS} generated hostile requests with JSON 4xx or 200, never 5xx`, async () => {
    const probes = fc.sample(probeArbitrary(stack.mcp.url, stack.mcp.port), { numRuns: REQUESTS, seed: SEED });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    let next = 0;
    const worker = async () => {
      while (next < probes.length) {
        const probe = probes[next++] as Probe;
        let outcome: Outcome;
        try {
          outcome = await send(probe);
        } catch (error) {
          // The server answers an oversized body with 413 and closes at once; a client still
          // sending can see the reset before it reads that answer. Anything else is a failure.
          const code = (error as NodeJS.ErrnoException).code;
          if ((probe.body?.length ?? 0) > MAX_BODY && (code === 'ECONNRESET' || code === 'EPIPE')) continue;
          failures.push(`${probe.method} ${probe.path.slice(0, 80)}: no answer (${String(error)})`);
          continue;
        }
        sent += 1;
        statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
        const problem = checkOutcome(probe, outcome);
        if (problem)
          failures.push(
            `${outcome.status} ${problem} <- ${probe.method} ${probe.path.slice(0, 80)} ${describeBody(probe)}`,
          );
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    expect(failures.slice(0, 10), `seed ${SEED}`).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(5000);
    // The run reached the real work, not only the front door.
    expect(statuses.get(200) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(100);
    expect(statuses.get(422) ?? 0).toBeGreaterThan(100);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(40);
    expect(statuses.get(413) ?? 0).toBeGreaterThan(0);
    expect(violations).toEqual([]);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(logged.join('\n')).not.toContain(SECRETS.apiKey);
    expect(logged.join('\n')).not.toContain(SECRETS.mcpToken);
    // Still up and serving.
    const models = await send({ method: 'GET', path: `${MOUNT}/gateway/models`, headers: auth('fz0') });
    expect(models.status).toBe(200);
  }, 80_000);

  it('never follows a redirect from an allowed server to another host', async () => {
    const before = trapHits;
    const answer = await send({
      method: 'POST',
      path: `${MOUNT}/connect`,
      headers: { ...auth('fz0'), 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ llm: { model: 'fake' }, server: { url: redirectorUrl } })),
    });
    expect([answer.status, JSON.parse(answer.text).code]).toEqual([503, 'MCP_UNAVAILABLE']);
    expect(trapHits).toBe(before);
    expect(answer.text).not.toContain('127.0.0.1');
  });
});

function checkOutcome(probe: Probe, outcome: Outcome): string | undefined {
  if (probe.withoutHostToken && outcome.status === 503 && JSON.parse(outcome.text).code === 'MCP_UNAVAILABLE')
    return undefined;
  if (outcome.status >= 500 || outcome.status < 200) return `status ${outcome.status}: ${outcome.text.slice(0, 200)}`;
  if (probe.method === 'HEAD') return undefined;
  if (outcome.contentType.startsWith('text/event-stream')) {
    if (outcome.status !== 200) return `event stream with status ${outcome.status}`;
    return /event: (final|error)\n/.test(outcome.text) ? undefined : 'event stream without final or error';
  }
  if (!outcome.contentType.startsWith('application/json')) return `content-type ${outcome.contentType}`;
  let body: { detail?: unknown; code?: unknown };
  try {
    body = JSON.parse(outcome.text);
  } catch {
    return `not JSON: ${outcome.text.slice(0, 100)}`;
  }
  if (outcome.status >= 400) {
    if (typeof body.detail !== 'string' || !(ERROR_CODES as readonly unknown[]).includes(body.code)) {
      return `error body without detail/code: ${outcome.text.slice(0, 200)}`;
    }
    if (body.code === 'INTERNAL') return 'INTERNAL error';
  }
  if (outcome.text.includes(SECRETS.apiKey) || outcome.text.includes(SECRETS.mcpToken)) return 'leaked a secret';
  return undefined;
}

function describeBody(probe: Probe): string {
  if (!probe.body) return '(no body)';
  return probe.body.length > 200 ? `(${probe.body.length} bytes)` : probe.body.toString('utf8');
}

function auth(user: string): Record<string, string> {
  return { authorization: `Bearer user:${user}` };
}

/** Percent-encodes the UTF-8 bytes of any string (lone surrogates included) for a request path. */
function encodeSegment(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16)}`,
    )
    .join('');
}

const oddStrings = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff\ud800',
    '\u202e\u202dright-to-left',
    '\ufeff',
    '🙂'.repeat(50),
    'add 2 and 3',
    'hello',
    '__proto__',
    'constructor',
    'prototype',
    '<script>alert(1)</script>',
    '../../etc/passwd',
    '%00',
    "'; DROP TABLE users; --",
    '\u0024{jndi:ldap://x}',
  ),
);

function ssrfUrls(mcpUrl: string, port: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      mcpUrl,
      `${mcpUrl}?probe=1`,
      `${mcpUrl}#fragment`,
      mcpUrl.toUpperCase().replace('HTTP://', 'http://').replace('/MCP', '/mcp'),
      `http://127.1:${port}/mcp`,
      `http://2130706433:${port}/mcp`,
      `http://0x7f000001:${port}/mcp`,
      `http://0x7f.0.0.1:${port}/mcp`,
      `http://localhost:${port}/mcp`,
      `http://LOCALHOST:${port}/mcp`,
      `http://localhost.:${port}/mcp`,
      `http://[::1]:${port}/mcp`,
      `http://[::ffff:127.0.0.1]:${port}/mcp`,
      `http://0.0.0.0:${port}/mcp`,
      `http://127.0.0.1:${port}/mcpx`,
      `http://127.0.0.1:${port}/mcp/../admin`,
      `http://127.0.0.1:${port + 1}/mcp`,
      `http://user:pass@127.0.0.1:${port}/mcp`,
      `http://127.0.0.1:${port}@10.0.0.1/mcp`,
      `http://127.0.0.1:${port}\\@10.0.0.1/mcp`,
      `http://10.0.0.1/mcp`,
      `http://10.255.255.1:${port}/mcp`,
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://[fd00::1]/mcp',
      'http://192.168.1.1/mcp',
      'http://172.16.0.1/mcp',
      'https://metadata.google.internal/computeMetadata/v1/',
      'file:///etc/passwd',
      'gopher://127.0.0.1:6379/_FLUSHALL',
      'dict://127.0.0.1:6379/info',
      'ftp://127.0.0.1/',
      'javascript:alert(1)',
      'data:text/plain,hello',
      ` ${mcpUrl}`,
      `${mcpUrl}\n`,
      'http://',
      '//127.0.0.1/mcp',
      `http://127.0.0.1:${port}/mcp${'a'.repeat(3000)}`,
    ),
    oddStrings,
    fc.webUrl(),
  );
}

function connectBody(mcpUrl: string, port: number): fc.Arbitrary<unknown> {
  return fc
    .record(
      {
        user_id: fc.oneof(
          { weight: 6, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constant('') },
          { weight: 1, arbitrary: oddStrings },
          { weight: 1, arbitrary: fc.integer() },
        ),
        server: fc.oneof(
          fc.constant(undefined),
          fc.constant(null),
          fc.record(
            {
              url: fc.oneof({ weight: 8, arbitrary: ssrfUrls(mcpUrl, port) }, fc.integer(), fc.constant(null)),
              transport: fc.oneof(
                {
                  weight: 6,
                  arbitrary: fc.constantFrom('streamable_http', 'sse', 'stdio', 'carrier-pigeon', undefined),
                },
                { weight: 1, arbitrary: oddStrings },
              ),
              auth_token: fc.oneof(fc.constant(undefined), oddStrings),
            },
            { requiredKeys: [] },
          ),
          oddStrings,
        ),
        llm: fc.oneof(
          { weight: 4, arbitrary: fc.constant({ model: 'fake' }) },
          fc.record(
            {
              model: fc.oneof(fc.constantFrom('fake', 'off', 'gpt-nope', '__proto__'), oddStrings, fc.integer()),
              temperature: fc.oneof(fc.double(), fc.constantFrom(0, 1, 2, -1, 3), oddStrings),
              max_tokens: fc.oneof(fc.integer(), fc.constantFrom(0, 1, 100, -5), fc.double()),
            },
            { requiredKeys: [] },
          ),
          oddStrings,
        ),
        streaming: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, oddStrings),
      },
      { requiredKeys: ['llm'] },
    )
    .map((body) => {
      // An allowed URL over the legacy SSE transport is refused by the test server (503): valid
      // behaviour, but not hostile input. Keep such URLs on Streamable HTTP.
      const server = (body as { server?: { url?: unknown; transport?: unknown } }).server;
      if (server && typeof server === 'object' && server.transport === 'sse') server.transport = 'streamable_http';
      return body;
    });
}

const chatBody = fc.record(
  {
    user_id: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: oddStrings },
    ),
    message: fc.oneof(oddStrings, fc.constantFrom('hello', 'add 4 and 5', '   ', ''), fc.integer(), fc.constant(null)),
    streaming: fc.oneof(fc.boolean(), fc.constant(undefined), oddStrings),
  },
  { requiredKeys: [] },
);

const pollution = fc.constantFrom(
  '{"__proto__":{"polluted":"yes"},"llm":{"model":"fake"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}},"llm":{"model":"fake"}}',
  '{"llm":{"model":"fake","__proto__":{"polluted":"yes"}},"server":{"__proto__":{"url":"http://10.0.0.1/"}}}',
  '{"message":"hi","__proto__":{"streaming":true,"polluted":"yes"}}',
  '{"prototype":{"polluted":"yes"},"message":{"__proto__":null}}',
  '{"user_id":{"toString":"x"},"message":"hi"}',
);

function deepNesting(): fc.Arbitrary<string> {
  return fc
    .tuple(fc.integer({ min: 100, max: 60_000 }), fc.constantFrom('[', '{"a":'), fc.boolean())
    .map(([depth, open, wrap]) => {
      const close = open === '[' ? ']' : '}';
      const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
      return wrap ? `{"llm":{"model":"fake","x":${nested}},"message":${nested}}` : nested;
    });
}

const malformedJson = fc.oneof(
  fc.constantFrom(
    '{',
    '{"llm":',
    '{"message":"hi"',
    'null',
    'true',
    '[]',
    '"string"',
    '1e999',
    '{"a":1,}',
    "{'a':1}",
    'NaN',
  ),
  fc.json().map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

function hugeBody(): fc.Arbitrary<string> {
  return fc.integer({ min: MAX_BODY - 200, max: MAX_BODY + 64 * 1024 }).map((size) => {
    const pad = 'x'.repeat(Math.max(0, size - 40));
    return JSON.stringify({ llm: { model: 'fake' }, message: pad });
  });
}

function bodyArbitrary(mcpUrl: string, port: number): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 6, arbitrary: connectBody(mcpUrl, port).map((b) => JSON.stringify(b)) },
    { weight: 6, arbitrary: chatBody.map((b) => JSON.stringify(b)) },
    {
      weight: 2,
      arbitrary: fc.record({ user_id: fc.oneof(oddStrings, fc.constant(undefined)) }).map((b) => JSON.stringify(b)),
    },
    { weight: 2, arbitrary: pollution },
    { weight: 1, arbitrary: deepNesting() },
    { weight: 3, arbitrary: malformedJson },
    { weight: 2, arbitrary: fc.anything({ withNullPrototype: true, maxDepth: 4 }).map((v) => safeStringify(v)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    // Rare, as they cost a megabyte each.
    {
      weight: 1,
      arbitrary: fc.oneof(
        { weight: 1, arbitrary: hugeBody() },
        { weight: 4, arbitrary: chatBody.map((b) => JSON.stringify(b)) },
      ),
    },
  );
}

function withoutHostToken(body: string, mcpUrl: string): boolean {
  try {
    const server = JSON.parse(body)?.server;
    const token = server?.auth_token;
    if (typeof token === 'string' && token !== '') return true;
    // `?probe=1` is the one allowed URL that is not the host's default server itself.
    return typeof server?.url === 'string' && server.url.startsWith(`${mcpUrl}?`);
  } catch {
    return false;
  }
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return '{}';
  }
}

function probeArbitrary(mcpUrl: string, port: number): fc.Arbitrary<Probe> {
  const postRoute = fc.constantFrom('/connect', '/connect', '/chat', '/chat', '/disconnect');
  const getRoute = fc.oneof(
    fc.constant('/gateway/models'),
    fc
      .tuple(
        fc.constantFrom('/status/', '/config/'),
        fc.oneof(fc.constantFrom(...USERS), oddStrings.map(encodeSegment)),
      )
      .map(([route, user]) => route + user),
  );
  const anyRoute = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom('/connect', '/chat', '/disconnect', '/gateway/models') },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.constantFrom('/status/', '/config/'),
          fc.oneof(fc.constantFrom(...USERS), oddStrings.map(encodeSegment)),
        )
        .map(([route, user]) => route + user),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '/status/%E0%A4%A',
        '/status/%',
        '/config/%zz',
        '/status/..%2f..%2fconfig',
        '/status/fz0/extra',
        '/connect/',
        '//connect',
        '/CONNECT',
        '/chat?user_id=fz1',
        '/gateway/models/../../connect',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/status/%00',
        '/status/__proto__',
        '/config/constructor',
        '',
        '/',
        `/${'a'.repeat(4000)}`,
      ),
    },
    { weight: 1, arbitrary: oddStrings.map((text) => `/${encodeSegment(text)}`) },
  );
  const user = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...USERS) },
    {
      weight: 1,
      arbitrary: fc.string({
        unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
        maxLength: 30,
      }),
    },
  );
  const authorization = fc.oneof(
    { weight: 10, arbitrary: user.map((id) => `Bearer user:${id}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        'Bearer',
        'Bearer user:',
        'Basic Zm9vOmJhcg==',
        'Bearer user:__proto__',
        `Bearer user:${'x'.repeat(6000)}`,
      ),
    },
  );
  const contentType = fc.oneof(
    { weight: 12, arbitrary: fc.constant('application/json') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'application/vnd.api+json',
        'application/json; charset=utf-16',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonx',
        'APPLICATION/JSON',
        '',
      ),
    },
  );
  return fc
    .record({
      target: fc.oneof(
        { weight: 12, arbitrary: fc.tuple(fc.constant('POST'), postRoute) },
        { weight: 4, arbitrary: fc.tuple(fc.constantFrom('GET', 'GET', 'GET', 'HEAD'), getRoute) },
        {
          weight: 2,
          arbitrary: fc.tuple(fc.constantFrom('POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), anyRoute),
        },
      ) as fc.Arbitrary<[string, string]>,
      authorization: fc.option(authorization, { nil: undefined, freq: 12 }),
      contentType: fc.option(contentType, { nil: undefined, freq: 12 }),
      extra: fc.option(
        fc.dictionary(
          fc.constantFrom('x-forwarded-for', 'x-user-id', 'cookie', 'accept', 'x-real-ip', 'origin', 'accept-encoding'),
          fc.constantFrom('10.0.0.1', 'fz1', 'session=abc', '*/*', 'text/event-stream', 'http://evil.example', 'gzip'),
        ),
        { nil: undefined },
      ),
      body: bodyArbitrary(mcpUrl, port),
    })
    .map(({ target: [method, route], authorization, contentType, extra, body }) => {
      const headers: Record<string, string> = { ...extra };
      if (authorization !== undefined) headers.authorization = authorization;
      if (contentType !== undefined) headers['content-type'] = contentType;
      const sendsBody = method !== 'GET' && method !== 'HEAD' && body !== undefined;
      // Node frames DELETE/OPTIONS bodies only when told their length.
      if (sendsBody) headers['content-length'] = String(Buffer.byteLength(body, 'utf8'));
      return {
        method,
        path: `${MOUNT}${route}`,
        headers,
        ...(sendsBody ? { body: Buffer.from(body, 'utf8') } : {}),
        ...(sendsBody && withoutHostToken(body, mcpUrl) ? { withoutHostToken: true } : {}),
      };
    });
}

function listen(handle: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<Server> {
  const server = createServer(handle);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
