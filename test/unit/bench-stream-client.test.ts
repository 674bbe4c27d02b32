import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteRequest, FORMATS, postJson, postStream } from '../../bench/lib/stream-client.js';

// A server that drops a kept-alive socket when a request arrives on it (`dropReused`) or when
// any request arrives (`dropAll`), without answering: what a client sees when its reused socket
// had just been closed by the server's idle timeout.
async function startServer(
  mode: 'dropReused' | 'dropAll',
): Promise<{ url: string; server: Server; seen: () => number }> {
  const requestsOn = new WeakMap<Socket, number>();
  let seen = 0;
  const server = createServer((req, res) => {
    seen++;
    const count = (requestsOn.get(req.socket) ?? 0) + 1;
    requestsOn.set(req.socket, count);
    if (mode === 'dropAll' || count > 1) {
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

  it('sends again on a new socket when its kept-alive socket was dropped unanswered', async () => {
    const started = await startServer('dropReused');
    server = started.server;
    const first = await postStream(started.url, { message: 'hi' }, FORMATS.lib);
    const second = await postStream(started.url, { message: 'hi' }, FORMATS.lib);
    expect(first).toMatchObject({ status: 200, complete: true });
    expect(second).toMatchObject({ status: 200, complete: true });
    // The second send reached the server twice: once on the dropped socket, once on a new one.
    expect(started.seen()).toBe(3);
    expect((await postJson(started.url, {})).status).toBe(200);
    expect(await deleteRequest(started.url)).toBe(200);
  });

  it('still fails a request whose new socket was dropped (no endless retries)', async () => {
    const started = await startServer('dropAll');
    server = started.server;
    await expect(postStream(started.url, { message: 'hi' }, FORMATS.lib)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(postJson(started.url, {})).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(deleteRequest(started.url)).rejects.toMatchObject({ code: 'ECONNRESET' });
  });
});
