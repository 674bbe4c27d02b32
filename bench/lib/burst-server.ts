/**
 * A Chat Completions endpoint that streams as fast as the socket takes it, for the relay
 * throughput bench. The fixture fake awaits each frame's write callback (one event-loop turn a
 * frame, about 30 µs), which would make the fake, not the relay, the bottleneck.
 *
 * The frames are the fixture's own: the first request with a given body shape is forwarded to
 * the fixture fake and its response captured; later ones replay the captured frames, each frame
 * its own `write()` (as a provider flushes per token), pausing only when the socket is full.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running burst server. */
export interface BurstServer {
  /** Base URL to configure as an OpenAI-compatible `baseUrl` (ends in `/v1`). */
  url: string;
  close(): Promise<void>;
}

/** Starts the burst server in front of the fixture fake at `fixtureUrl` (its `/v1` base URL). */
export async function startBurstServer(fixtureUrl: string): Promise<BurstServer> {
  const captured = new Map<string, Promise<string[]>>();

  const capture = async (body: string): Promise<string[]> => {
    const response = await fetch(`${fixtureUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await response.text();
    return text
      .split('\n\n')
      .filter((frame) => frame.length > 0)
      .map((frame) => `${frame}\n\n`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const parsed = JSON.parse(body) as {
      model?: string;
      stream_options?: { include_usage?: boolean };
      messages?: Array<{ content?: unknown }>;
    };
    const last = parsed.messages?.at(-1)?.content;
    const key = JSON.stringify([parsed.model, parsed.stream_options?.include_usage === true, last]);
    let frames = captured.get(key);
    if (!frames) {
      frames = capture(body);
      captured.set(key, frames);
    }
    const list = await frames;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    for (const frame of list) {
      if (res.destroyed) return;
      if (!res.write(frame)) await new Promise<void>((resolve) => res.once('drain', resolve));
    }
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
