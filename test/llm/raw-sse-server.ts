import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AnthropicProvider } from '../../src/llm/anthropic-provider.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import type { LlmProviderRuntimeOptions } from '../../src/llm/provider-http.js';

/** A server that answers every request with an event stream its `script` writes, byte for byte. */
export interface RawSseServer {
  /** For `OpenAIProvider`'s and `AnthropicProvider`'s `baseUrl`. */
  url: string;
  /** How many requests came in. */
  requests: () => number;
  close: () => Promise<void>;
}

/** Starts a {@link RawSseServer}; `script` writes the body and ends the response (or not). */
export async function serveRawSse(script: (response: ServerResponse) => void | Promise<void>): Promise<RawSseServer> {
  let requests = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests++;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      void script(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Writes `piece` until the client goes away or `untilMs` passed: a stream that never ends.
 * Resolves with whether the client left first.
 */
export async function writeEndlessly(response: ServerResponse, piece: string, untilMs = 10_000): Promise<boolean> {
  const until = Date.now() + untilMs;
  while (!response.destroyed && !response.writableEnded && Date.now() < until) {
    if (!response.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          response.off('drain', done);
          response.off('close', done);
          resolve();
        };
        response.on('drain', done);
        response.on('close', done);
      });
    }
  }
  response.destroy();
  return Date.now() < until;
}

/** One SSE `data:` event carrying `value` as JSON. */
export function dataEvent(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

export const hi = { model: 'm', messages: [{ role: 'user' as const, content: 'Hi' }] };

export function openai(url: string, options: LlmProviderRuntimeOptions = {}): OpenAIProvider {
  return new OpenAIProvider(
    { kind: 'openai', baseUrl: `${url}/v1`, apiKey: 'sk-raw-test' },
    { retryDelayMs: 1, ...options },
  );
}

export function anthropic(url: string, options: LlmProviderRuntimeOptions = {}): AnthropicProvider {
  return new AnthropicProvider({ baseUrl: url, apiKey: 'sk-ant-raw-test' }, { retryDelayMs: 1, ...options });
}
