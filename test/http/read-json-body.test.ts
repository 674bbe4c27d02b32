import { describe, expect, it } from 'vitest';
import { readJsonBody } from '../../src/http/read-json-body.js';

const url = 'http://localhost/chat';

function post(body: BodyInit, headers: Record<string, string>): Request {
  const init = { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, duplex: 'half' };
  return new Request(url, init as RequestInit);
}

function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

describe('readJsonBody', () => {
  it('reads a body whose Content-Length is within the limit', async () => {
    const text = JSON.stringify({ message: 'hé' });
    const request = post(text, { 'content-length': String(Buffer.byteLength(text)) });
    await expect(readJsonBody(request, 1024)).resolves.toEqual({ message: 'hé' });
  });

  it('reads a declared body with arrayBuffer(), without asking for the web stream', async () => {
    // What a host with a cheaper whole-body read (Hono's Node server, Bun, Deno) gets asked for.
    const text = '{"message":"hi"}';
    const request = {
      headers: new Headers({ 'content-type': 'application/json', 'content-length': String(text.length) }),
      arrayBuffer: async () => new TextEncoder().encode(text).buffer,
      get body(): never {
        throw new Error('the stream was asked for');
      },
    } as unknown as Request;
    await expect(readJsonBody(request, 1024)).resolves.toEqual({ message: 'hi' });
  });

  it('still refuses a body larger than the limit when its Content-Length understates it', async () => {
    const request = post(streamOf(JSON.stringify({ message: 'x'.repeat(500) })), { 'content-length': '10' });
    await expect(readJsonBody(request, 100)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('refuses a declared length over the limit before reading', async () => {
    const request = post('{}', { 'content-length': '5000' });
    await expect(readJsonBody(request, 100)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('bounds a body without Content-Length while reading it', async () => {
    const request = post(streamOf(JSON.stringify({ message: 'x'.repeat(500) })), {});
    expect(request.headers.get('content-length')).toBeNull();
    await expect(readJsonBody(request, 100)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('answers a declared body that is not JSON with VALIDATION_FAILED', async () => {
    const request = post('{nope', { 'content-length': '5' });
    await expect(readJsonBody(request, 100)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('answers a body that fails while read with BAD_REQUEST', async () => {
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('socket reset'));
      },
    });
    const request = post(failing, { 'content-length': '40' });
    await expect(readJsonBody(request, 100)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
