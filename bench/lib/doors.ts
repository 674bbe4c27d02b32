/**
 * The ways into a bench server that the memory scenarios compare: the bare relay, the library
 * through Express, and the library's `handler.fetch` on node:http; and, when the server was
 * started with `--bridge`, the library's Node bridge on node:http without Express.
 */
import type { BenchEnv } from './bench-env.js';
import { FORMATS, postStream, type StreamTiming, userHeaders } from './stream-client.js';

/** The doors every memory scenario compares, in the order the tables list them. */
export const DOORS = ['floor', 'express', 'fetch'] as const;
/** A door; `bridge` only on a server started with `--bridge`. */
export type Door = (typeof DOORS)[number] | 'bridge';

/** The rows' labels. */
export const DOOR_LABELS: Record<Door, string> = {
  floor: 'bare relay (floor)',
  express: 'mcp-llmchat, Express, memory',
  fetch: 'mcp-llmchat, handler.fetch on node:http, memory',
  bridge: 'mcp-llmchat, its Node bridge on node:http (no Express), memory',
};

/** The port a door listens on. */
export function doorPort(env: BenchEnv, door: Door): number | undefined {
  const ports = {
    floor: env.ports.floor,
    express: env.ports.lib,
    fetch: env.ports.libFetch,
    bridge: env.ports.libBridge,
  };
  return ports[door];
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
