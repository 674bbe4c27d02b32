/** The processes a bench run drives: the upstream fakes and the server under test. */
import type { ServerPorts, UpstreamInfo } from '../server.js';
import { type BenchWorker, startWorker } from './ipc.js';
import { postJson, userHeaders } from './stream-client.js';

/** A started upstream and server, and URL helpers. */
export interface BenchEnv {
  upstream: BenchWorker;
  info: UpstreamInfo;
  server: BenchWorker;
  ports: ServerPorts;
  /** `http://127.0.0.1:<port><path>`. */
  url(port: number | undefined, path: string): string;
}

/** Builds the loopback URL of a port the server started. */
export function localUrl(port: number | undefined, path: string): string {
  if (port === undefined) throw new Error('that server was not started');
  return `http://127.0.0.1:${port}${path}`;
}

/** The scripts of the child processes, relative to bench/: TypeScript, or the built bundles. */
export const workerScripts = { server: 'server.ts', upstream: 'upstream.ts' };

/**
 * Starts a server process (with `args` and Node `flags`) against an already running upstream,
 * from `script` (bench-relative; the current server script unless given).
 */
export async function startServer(
  upstream: BenchWorker,
  info: UpstreamInfo,
  args: string[],
  flags: string[] = [],
  script: string = workerScripts.server,
): Promise<BenchEnv> {
  const server = await startWorker(script, { args, nodeFlags: flags });
  const ports = await server.call<ServerPorts>('start', info);
  return { upstream, info, server, ports, url: localUrl };
}

/** Connects `userId` to the default MCP server with `model`, through the library's `/connect`. */
export async function connectUser(port: number | undefined, userId: string, model = 'fake'): Promise<void> {
  const answer = await postJson(localUrl(port, '/llmchat/connect'), { llm: { model } }, userHeaders(userId));
  if (answer.status !== 200) throw new Error(`connect ${userId}: ${answer.status} ${JSON.stringify(answer.json)}`);
}
