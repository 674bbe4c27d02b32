import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  ERROR_HTTP_STATUS,
  isLlmChatError,
  LlmChatError,
  toHttpError,
  wrapError,
} from '../../src/errors.js';

describe('LlmChatError', () => {
  it('carries its code, status and recoverability', () => {
    const error = new LlmChatError('TURN_IN_PROGRESS', 'A turn is already running.');
    expect(error.code).toBe('TURN_IN_PROGRESS');
    expect(error.status).toBe(409);
    expect(error.recoverable).toBe(true);
    expect(new LlmChatError('MODEL_NOT_FOUND', 'x').recoverable).toBe(false);
    expect(error).toBeInstanceOf(Error);
  });

  it('is recognized by its brand when it comes from another copy of the module', () => {
    const foreign = Object.assign(new Error('copy'), { code: 'INTERNAL' });
    Object.defineProperty(foreign, Symbol.for('mcp-llmchat.error'), { value: true });
    expect(isLlmChatError(foreign)).toBe(true);
    expect(LlmChatError.is(foreign)).toBe(true);
    expect(isLlmChatError(new Error('plain'))).toBe(false);
    expect(isLlmChatError(null)).toBe(false);
    expect(isLlmChatError({ code: 'INTERNAL' })).toBe(false);
  });

  it('maps every code to an HTTP error status', () => {
    for (const code of ERROR_CODES) {
      expect(ERROR_HTTP_STATUS[code], code).toBeGreaterThanOrEqual(400);
      expect(ERROR_HTTP_STATUS[code], code).toBeLessThan(600);
    }
  });
});

describe('toHttpError', () => {
  it('turns a library error into its status and a { detail, code } body', () => {
    const result = toHttpError(new LlmChatError('SERVER_NOT_ALLOWED', 'Server URL is not allowed.'));
    expect(result).toEqual({ status: 400, body: { detail: 'Server URL is not allowed.', code: 'SERVER_NOT_ALLOWED' } });
  });

  it('never shows an unknown error message', () => {
    const result = toHttpError(new Error('connect ECONNREFUSED sk-secret-key'));
    expect(result.status).toBe(500);
    expect(result.body.code).toBe('INTERNAL');
    expect(JSON.stringify(result)).not.toContain('sk-secret');
    expect(toHttpError('a string').body.code).toBe('INTERNAL');
    expect(toHttpError(undefined).status).toBe(500);
  });

  it('adds Retry-After in whole seconds when the error suggests a wait', () => {
    const result = toHttpError(new LlmChatError('PROVIDER_RATE_LIMITED', 'Slow down.', { retryAfterMs: 1500 }));
    expect(result.status).toBe(429);
    expect(result.headers).toEqual({ 'retry-after': '2' });
  });
});

describe('wrapError', () => {
  it('keeps library errors and wraps others with the cause kept', () => {
    const own = new LlmChatError('TIMEOUT', 't');
    expect(wrapError(own, 'INTERNAL', 'x')).toBe(own);
    const cause = new Error('boom');
    const wrapped = wrapError(cause, 'MCP_UNAVAILABLE', 'MCP server unreachable.');
    expect(wrapped.code).toBe('MCP_UNAVAILABLE');
    expect(wrapped.cause).toBe(cause);
    expect(wrapped.message).toBe('MCP server unreachable.');
  });
});
