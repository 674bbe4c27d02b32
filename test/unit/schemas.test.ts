import { describe, expect, it } from 'vitest';
import { isLlmChatError, type LlmChatError } from '../../src/errors.js';
import { chatBodySchema, connectBodySchema, disconnectBodySchema, parseBody } from '../../src/schemas.js';

/** Parses and returns the validation error, failing the test if parsing succeeds. */
function rejection(schema: Parameters<typeof parseBody>[0], value: unknown): LlmChatError {
  try {
    parseBody(schema, value);
  } catch (error) {
    expect(isLlmChatError(error)).toBe(true);
    const failure = error as LlmChatError;
    expect(failure.code).toBe('VALIDATION_FAILED');
    expect(failure.status).toBe(422);
    return failure;
  }
  throw new Error('expected the body to be rejected');
}

const validConnect = { llm: { model: 'gpt-4o' } };

describe('connectBodySchema', () => {
  it('accepts the exact body the gateway admin UI sends', () => {
    const body = parseBody(connectBodySchema, {
      user_id: 'alice@example.com',
      server: { url: 'http://localhost:4444/servers/abc/mcp', transport: 'streamable_http', auth_token: '' },
      llm: { model: 'gpt-4o' },
      streaming: true,
    });
    expect(body).toEqual({
      user_id: 'alice@example.com',
      server: { url: 'http://localhost:4444/servers/abc/mcp', transport: 'streamable_http', auth_token: '' },
      llm: { model: 'gpt-4o' },
      streaming: true,
    });
  });

  it('fills defaults and accepts nulls where the gateway does', () => {
    expect(parseBody(connectBodySchema, { llm: { model: 'm' }, server: {} })).toEqual({
      llm: { model: 'm' },
      server: { transport: 'streamable_http' },
      streaming: false,
    });
    const nulls = parseBody(connectBodySchema, {
      user_id: null,
      server: null,
      llm: { model: 'm', temperature: null, max_tokens: null },
    });
    expect(nulls).toEqual({
      user_id: null,
      server: null,
      llm: { model: 'm', temperature: null, max_tokens: null },
      streaming: false,
    });
    expect(
      parseBody(connectBodySchema, { server: { url: null, auth_token: null }, llm: { model: 'm' } }).server,
    ).toEqual({
      url: null,
      auth_token: null,
      transport: 'streamable_http',
    });
  });

  it('accepts the temperature and max_tokens bounds and trims the model', () => {
    const body = parseBody(connectBodySchema, { llm: { model: '  gpt-4o ', temperature: 2, max_tokens: 1_000_000 } });
    expect(body.llm).toEqual({ model: 'gpt-4o', temperature: 2, max_tokens: 1_000_000 });
    expect(parseBody(connectBodySchema, { llm: { model: 'm', temperature: 0 } }).llm.temperature).toBe(0);
    for (const transport of ['streamable_http', 'sse', 'stdio'] as const) {
      expect(parseBody(connectBodySchema, { ...validConnect, server: { transport } }).server?.transport).toBe(
        transport,
      );
    }
  });

  it('drops unknown keys at every level', () => {
    const body = parseBody(connectBodySchema, {
      ...validConnect,
      extra: 1,
      server: { url: 'http://x/mcp', command: 'rm -rf /', headers: { a: 'b' } },
      llm: { model: 'm', provider: 'openai', config: { api_key: 'k' } },
    });
    expect(body).toEqual({
      server: { url: 'http://x/mcp', transport: 'streamable_http' },
      llm: { model: 'm' },
      streaming: false,
    });
  });

  it.each([
    [{}, 'llm', 'llm: is required'],
    [{ llm: null }, 'llm', 'llm: expected an object'],
    [{ llm: {} }, 'llm.model', 'llm.model: is required'],
    [{ llm: { provider: 'openai', config: { model: 'gpt-4o' } } }, 'llm.model', 'llm.model: is required'],
    [{ llm: { model: '   ' } }, 'llm.model', 'llm.model: must not be empty'],
    [{ llm: { model: 'm'.repeat(201) } }, 'llm.model', 'llm.model: must be at most 200 characters'],
    [{ llm: { model: 5 } }, 'llm.model', 'llm.model: expected a string'],
    [{ llm: { model: 'm', temperature: 2.01 } }, 'llm.temperature', 'llm.temperature: must be at most 2'],
    [{ llm: { model: 'm', temperature: -0.1 } }, 'llm.temperature', 'llm.temperature: must be at least 0'],
    [{ llm: { model: 'm', temperature: '0.5' } }, 'llm.temperature', 'llm.temperature: expected a number'],
    [{ llm: { model: 'm', max_tokens: 0 } }, 'llm.max_tokens', 'llm.max_tokens: must be greater than 0'],
    [{ llm: { model: 'm', max_tokens: -5 } }, 'llm.max_tokens', 'llm.max_tokens: must be greater than 0'],
    [{ llm: { model: 'm', max_tokens: 1.5 } }, 'llm.max_tokens', 'llm.max_tokens: expected a whole number'],
    [{ llm: { model: 'm', max_tokens: 1_000_001 } }, 'llm.max_tokens', 'llm.max_tokens: must be at most 1000000'],
    [{ ...validConnect, server: 'http://x' }, 'server', 'server: expected an object'],
    [
      { ...validConnect, server: { transport: 'websocket' } },
      'server.transport',
      'server.transport: must be one of "streamable_http", "sse", "stdio"',
    ],
    [
      { ...validConnect, server: { transport: null } },
      'server.transport',
      'server.transport: must be one of "streamable_http", "sse", "stdio"',
    ],
    [{ ...validConnect, server: { url: 42 } }, 'server.url', 'server.url: expected a string'],
    [
      { ...validConnect, server: { url: `http://x/${'a'.repeat(2048)}` } },
      'server.url',
      'server.url: must be at most 2048 characters',
    ],
    [
      { ...validConnect, server: { auth_token: 't'.repeat(8193) } },
      'server.auth_token',
      'server.auth_token: must be at most 8192 characters',
    ],
    [{ ...validConnect, user_id: 7 }, 'user_id', 'user_id: expected a string'],
    [{ ...validConnect, user_id: 'u'.repeat(513) }, 'user_id', 'user_id: must be at most 512 characters'],
    [{ ...validConnect, streaming: 'true' }, 'streaming', 'streaming: expected a boolean'],
    [[], 'body', 'body: expected an object'],
    [null, 'body', 'body: expected an object'],
    ['text', 'body', 'body: expected an object'],
  ])('rejects %j naming %s', (value, field, message) => {
    const error = rejection(connectBodySchema, value);
    expect(error.details).toEqual({ field });
    expect(error.message).toBe(message);
  });

  it.each([
    'sk-abc\r\nX-Injected: 1',
    'sk-abc\nmore',
    'sk\u0000abc',
    'sk\u0007abc',
    'sk-\u0442\u043e\u043a\u0435\u043d',
  ])('rejects the token %j, which no HTTP client can send as a header value', (token) => {
    const error = rejection(connectBodySchema, { ...validConnect, server: { auth_token: token } });
    expect(error.details).toEqual({ field: 'server.auth_token' });
    expect(error.message).toBe(
      'server.auth_token: must not contain line breaks, control characters or characters beyond Latin-1',
    );
  });

  it('accepts any token an HTTP client can send as a header value: tabs, spaces, Latin-1', () => {
    // fetch trims tab, space, CR and LF from both ends: a token pasted with its line break is sent.
    for (const token of ['sk-abc', 'a\tb c', 'caf\u00e9-\u00ff', '', 'sk-abc\n', '\t sk-abc\r\n']) {
      const body = parseBody(connectBodySchema, { ...validConnect, server: { auth_token: token } });
      expect(body.server?.auth_token).toBe(token);
    }
  });

  it('checks a long token whose whitespace runs would make a backtracking check take minutes', () => {
    // A regex for "trimmed, then valid" backtracked for minutes on these; the check is one pass.
    expect(
      rejection(connectBodySchema, { ...validConnect, server: { auth_token: `${'\t'.repeat(8191)}\u0007` } }).details,
    ).toEqual({
      field: 'server.auth_token',
    });
    const padded = `${' '.repeat(4000)}${'x'.repeat(4000)}${'\n'.repeat(192)}`;
    expect(parseBody(connectBodySchema, { ...validConnect, server: { auth_token: padded } }).server?.auth_token).toBe(
      padded,
    );
  });

  it('reports the first failing field when several fail', () => {
    const error = rejection(connectBodySchema, { user_id: 1, llm: { model: '' } });
    expect(error.details?.field).toBe('user_id');
  });

  it('never echoes the rejected value', () => {
    const secret = `sk-${'s'.repeat(9000)}`;
    const error = rejection(connectBodySchema, { ...validConnect, server: { auth_token: secret } });
    expect(error.message).not.toContain('sss');
    expect(JSON.stringify(error.details)).not.toContain('sss');
    const broken = rejection(connectBodySchema, { ...validConnect, server: { auth_token: 'sk-line\r\nbreak' } });
    expect(JSON.stringify([broken.message, broken.details, String(broken.cause)])).not.toContain('sk-line');
    const typed = rejection(connectBodySchema, { llm: { model: 'm', temperature: 'hot-secret-value' } });
    expect(typed.message).not.toContain('hot-secret-value');
  });
});

describe('chatBodySchema', () => {
  it('accepts the exact body the gateway admin UI sends', () => {
    expect(
      parseBody(chatBodySchema, { user_id: 'alice@example.com', message: 'What time is it?', streaming: true }),
    ).toEqual({
      user_id: 'alice@example.com',
      message: 'What time is it?',
      streaming: true,
    });
  });

  it('leaves blank messages to the route and defaults streaming to false', () => {
    expect(parseBody(chatBodySchema, { message: '   ' })).toEqual({ message: '   ', streaming: false });
    expect(parseBody(chatBodySchema, { message: '', extra: true })).toEqual({ message: '', streaming: false });
  });

  it.each([
    [{}, 'message', 'message: is required'],
    [{ message: null }, 'message', 'message: expected a string'],
    [{ message: 42 }, 'message', 'message: expected a string'],
    [{ message: ['a'] }, 'message', 'message: expected a string'],
    [{ message: { text: 'hi' } }, 'message', 'message: expected a string'],
    [{ message: 'hi', streaming: 1 }, 'streaming', 'streaming: expected a boolean'],
    [{ message: 'hi', user_id: false }, 'user_id', 'user_id: expected a string'],
  ])('rejects %j naming %s', (value, field, message) => {
    const error = rejection(chatBodySchema, value);
    expect(error.details).toEqual({ field });
    expect(error.message).toBe(message);
  });

  it('bounds the message length', () => {
    expect(rejection(chatBodySchema, { message: 'x'.repeat(1_048_577) }).details?.field).toBe('message');
    expect(parseBody(chatBodySchema, { message: 'x'.repeat(1_048_576) }).message).toHaveLength(1_048_576);
  });
});

describe('disconnectBodySchema', () => {
  it('accepts an empty body, a user id and null', () => {
    expect(parseBody(disconnectBodySchema, {})).toEqual({});
    expect(parseBody(disconnectBodySchema, { user_id: 'bob', other: 1 })).toEqual({ user_id: 'bob' });
    expect(parseBody(disconnectBodySchema, { user_id: null })).toEqual({ user_id: null });
  });

  it('rejects a non-string user id', () => {
    expect(rejection(disconnectBodySchema, { user_id: {} }).details).toEqual({ field: 'user_id' });
  });
});

describe('hostile input', () => {
  it('ignores __proto__ and constructor keys and leaves Object.prototype untouched', () => {
    const raw =
      '{"__proto__":{"polluted":true,"streaming":true},"constructor":{"prototype":{"polluted":true}},' +
      '"llm":{"model":"m","__proto__":{"temperature":5,"polluted":true}},' +
      '"server":{"__proto__":{"transport":"stdio"},"url":"http://x/mcp"}}';
    const body = parseBody(connectBodySchema, JSON.parse(raw));
    expect(body).toEqual({
      llm: { model: 'm' },
      server: { url: 'http://x/mcp', transport: 'streamable_http' },
      streaming: false,
    });
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(Object.hasOwn(body, '__proto__')).toBe(false);
    expect(Object.hasOwn(body.llm, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).streaming).toBeUndefined();
  });

  it('answers quickly for deeply nested values in any field', () => {
    let deep: unknown = 'leaf';
    for (let level = 0; level < 10_000; level++) deep = { a: deep, b: [deep] };
    const started = performance.now();
    expect(rejection(connectBodySchema, { llm: deep }).details?.field).toBe('llm.model');
    expect(rejection(chatBodySchema, { message: deep }).details?.field).toBe('message');
    expect(parseBody(disconnectBodySchema, { nested: deep })).toEqual({});
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('rejects huge strings by length without echoing them', () => {
    const huge = 'h'.repeat(5_000_000);
    const error = rejection(connectBodySchema, { llm: { model: huge } });
    expect(error.message).toBe('llm.model: must be at most 200 characters');
  });
});
