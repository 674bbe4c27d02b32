/**
 * examples/oauth runs as users run it (its own process, tsx, the scripted model, real HTTP), and
 * a client walks the whole flow: connect, consent page, callback with the session cookie,
 * connect again, chat with a tool.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const USER = 'tab-oauth-example';

describe('examples/oauth', () => {
  let child: ChildProcess;
  let origin = '';
  let output = '';

  beforeAll(async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
    for (const key of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'MCP_URL', 'SCRIPTED_MODEL_URL']) delete env[key];
    child = spawn(process.execPath, ['--import', 'tsx', 'examples/oauth/server.ts'], { cwd: ROOT, env });
    origin = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening on" line:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const url = /listening on (http:\/\/localhost:\d+)/.exec(output)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    });
  }, 40_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  const api = (path: string, body?: unknown) =>
    fetch(`${origin}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', cookie: `demo_user=${USER}` },
      redirect: 'manual',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('connects after consent and chats with a tool behind OAuth', async () => {
    const page = await fetch(`${origin}/`);
    expect(await page.text()).toContain('<');
    const connect = { llm: { model: 'demo-scripted' } };
    const first = await api('/llmchat/connect', connect);
    expect(first.status).toBe(403);
    const { authorization_url: authorizationUrl } = (await first.json()) as { authorization_url: string };

    const consent = await (await fetch(authorizationUrl)).text();
    const allow = /id="allow" href="([^"]+)"/.exec(consent)?.[1]?.replace(/&amp;/g, '&') ?? '';
    expect(allow.startsWith(`${origin}/llmchat/oauth/callback?`)).toBe(true);
    const landed = await api(allow.slice(origin.length));
    expect(landed.status).toBe(302);
    expect(landed.headers.get('location')).toBe(
      `${origin}/?oauth=connected&server=${encodeURIComponent(new URL(authorizationUrl).searchParams.get('resource') ?? '')}`,
    );

    const second = await api('/llmchat/connect', connect);
    expect(second.status).toBe(200);
    const chat = await api('/llmchat/chat', { message: 'what is 12 * 7?' });
    const body = (await chat.json()) as { response: string; tools: string[] };
    expect(body.tools).toEqual(['calculate']);
    expect(body.response).toContain('84');
  });
});
