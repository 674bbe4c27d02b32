import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';

// The examples trust a user id the client sends (a header, or a cookie for examples/oauth): on
// 127.0.0.1 that is only safe for pages on this machine. A site that points its name at 127.0.0.1
// (DNS rebinding) sends `Host: its-name:port`; a form elsewhere sends its own `Origin`. Both must be
// refused before the example spends its API key or runs its tools. (examples/multi-process has
// the same line; it needs Redis and examples.test.ts runs it.)

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = ['express', 'fastify', 'koa', 'fetch', 'oauth'] as const;
const USER = 'tab-local-only';

const children: ChildProcess[] = [];

function startExample(name: string): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  for (const key of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'ANTHROPIC_API_KEY', 'MCP_URL', 'SCRIPTED_MODEL_URL']) {
    delete env[key];
  }
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${name}/server.ts`], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const port = /listening on http:\/\/(?:127\.0\.0\.1|localhost):(\d+)/.exec(output)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(Number(port));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}):\n${output}`));
    });
  });
}

function connect(port: number, headers: Record<string, string>): Promise<number> {
  const payload = JSON.stringify({ llm: { model: 'demo-scripted' } });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/llmchat/connect',
        agent: false,
        headers: { 'content-type': 'application/json', 'x-user-id': USER, cookie: `demo_user=${USER}`, ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const started = new Map<string, Promise<number>>();

beforeAll(() => {
  for (const name of EXAMPLES) {
    const port = startExample(name);
    port.catch(() => {});
    started.set(name, port);
  }
});

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve(null);
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
});

describe.concurrent('examples: only pages on this machine', () => {
  for (const name of EXAMPLES) {
    it(`${name}: refuses a rebound host name and a foreign origin, serves 127.0.0.1 and localhost`, async ({
      expect,
    }) => {
      const port = await started.get(name)!;
      const rebound = `rebind.evil.example:${port}`;
      expect(await connect(port, { host: rebound, origin: `http://${rebound}` })).toBe(401);
      expect(await connect(port, { host: rebound })).toBe(401);
      expect(await connect(port, { host: `127.0.0.1:${port}`, origin: 'http://evil.example' })).toBe(401);
      // Served: 200, or for examples/oauth 403 MCP_AUTHORIZATION_REQUIRED (its consent comes first).
      const served = name === 'oauth' ? 403 : 200;
      expect(await connect(port, { host: `127.0.0.1:${port}` })).toBe(served);
      expect(await connect(port, { host: `localhost:${port}`, origin: `http://localhost:${port}` })).toBe(served);
    }, 45_000);
  }
});
