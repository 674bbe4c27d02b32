import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  deleteRequest,
  FORMATS,
  idleSocketRetries,
  idleSocketRetriesNote,
  postJson,
  postStream,
} from '../../bench/lib/stream-client.js';

// A server that drops a kept-alive socket when a request arrives on it (`dropReused`) or when
// any request arrives (`dropAll`), without answering: what a client sees when its reused socket
// had just been closed by the server's idle timeout. `hold` never answers a reused socket's request.
async function startServer(
  mode: 'dropReused' | 'dropAll' | 'hold',
): Promise<{ url: string; server: Server; seen: () => number }> {
  const requestsOn = new WeakMap<Socket, number>();
  let seen = 0;
  const server = createServer((req, res) => {
    seen++;
    const count = (requestsOn.get(req.socket) ?? 0) + 1;
    requestsOn.set(req.socket, count);
    if (mode === 'hold' && count > 1) return;
    if (mode === 'dropAll' || (mode === 'dropReused' && count > 1)) {
      req.socket.destroy();
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('event: token\ndata: {}\n\nevent: final\ndata: {}\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, seen: () => seen };
}

describe('the bench client', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('sends a request once more, on a connection of its own, when its kept-alive socket was dropped unanswered', async () => {
    const started = await startServer('dropReused');
    server = started.server;
    const retriesBefore = idleSocketRetries();
    const first = await postStream(started.url, { message: 'hi' }, FORMATS.lib);
    const second = await postStream(started.url, { message: 'hi' }, FORMATS.lib);
    expect(first).toMatchObject({ status: 200, complete: true });
    expect(second).toMatchObject({ status: 200, complete: true });
    // The second send reached the server twice: on the dropped socket, then on a new one.
    expect(started.seen()).toBe(3);
    // The retry's connection was not kept: each next pair starts on a new socket, then reuses it.
    expect((await postJson(started.url, {})).status).toBe(200);
    expect((await postJson(started.url, {})).status).toBe(200);
    expect(started.seen()).toBe(6);
    expect(await deleteRequest(started.url)).toBe(200);
    expect(await deleteRequest(started.url)).toBe(200);
    expect(started.seen()).toBe(9);
    expect(idleSocketRetries() - retriesBefore).toBe(3);
    // What the bench scripts print at their end.
    expect(idleSocketRetriesNote()).toContain(`sent ${idleSocketRetries()} request(s) again`);
  });

  it('does not retry a request lost on a new socket', async () => {
    const started = await startServer('dropAll');
    server = started.server;
    const retriesBefore = idleSocketRetries();
    await expect(postStream(started.url, { message: 'hi' }, FORMATS.lib)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(postJson(started.url, {})).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(deleteRequest(started.url)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(started.seen()).toBe(3);
    expect(idleSocketRetries() - retriesBefore).toBe(0);
  });

  it('a retry goes out on its own connection, so a second stale socket in the pool cannot take it', async () => {
    const started = await startServer('dropReused');
    server = started.server;
    // Two kept-alive sockets in the pool: both are dropped when reused.
    await Promise.all([postJson(started.url, {}), postJson(started.url, {})]);
    expect(started.seen()).toBe(2);
    const retriesBefore = idleSocketRetries();
    expect((await postJson(started.url, {})).status).toBe(200);
    // One stale socket, then the retry's own connection: not the pool's other stale socket.
    expect(started.seen()).toBe(4);
    expect(idleSocketRetries() - retriesBefore).toBe(1);
  });

  it('does not send again a request the caller cancelled', async () => {
    const started = await startServer('hold');
    server = started.server;
    await postJson(started.url, {});
    const controller = new AbortController();
    const pending = postStream(started.url, { message: 'hi' }, FORMATS.lib, { signal: controller.signal });
    await vi.waitFor(() => expect(started.seen()).toBe(2));
    const retriesBefore = idleSocketRetries();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(started.seen()).toBe(2);
    expect(idleSocketRetries() - retriesBefore).toBe(0);
  });
});
