/**
 * The three ways into a bench server that the memory scenarios compare: the bare relay, the
 * library through Express, and the library's `handler.fetch` on node:http.
 */
import type { BenchEnv } from './bench-env.js';
import { FORMATS, postStream, type StreamTiming, userHeaders } from './stream-client.js';

/** The doors, in the order the tables list them. */
export const DOORS = ['floor', 'express', 'fetch'] as const;
export type Door = (typeof DOORS)[number];

/** The rows' labels. */
export const DOOR_LABELS: Record<Door, string> = {
  floor: 'bare relay (floor)',
  express: 'mcp-llmchat, Express, memory',
  fetch: 'mcp-llmchat, handler.fetch on node:http, memory',
};

/** The port a door listens on. */
export function doorPort(env: BenchEnv, door: Door): number | undefined {
  return door === 'floor' ? env.ports.floor : door === 'fetch' ? env.ports.libFetch : env.ports.lib;
}

/** One streamed answer to `message` through `door`, as `user` (the floor has no users). */
export function streamThrough(env: BenchEnv, door: Door, user: string, message: string): Promise<StreamTiming> {
  const port = doorPort(env, door);
  return door === 'floor'
    ? postStream(env.url(port, '/'), { message }, FORMATS.floor)
    : postStream(env.url(port, '/llmchat/chat'), { message, streaming: true }, FORMATS.lib, {
        headers: userHeaders(user),
      });
}
