import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChatService } from '../../src/chat/chat-service.js';
import { OpenAIProvider } from '../../src/llm/openai-provider.js';
import { McpToolbox } from '../../src/mcp/index.js';
import type { ChatEvent } from '../../src/types.js';
import { startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { freePort } from '../fixtures/free-port.js';

// The reference server of the MCP project, as a real third-party server over stdio and HTTP.
const require = createRequire(import.meta.url);
const BIN = join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js');

function childArgs(): string[] {
  if (process.platform !== 'linux') return [];
  try {
    return execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n');
  } catch {
    // ps exits 1 when there are no children.
    return [];
  }
}

/**
 * One whole chat turn through a real third-party MCP server: the fake LLM asks for `get-sum`,
 * the toolbox calls it, and the LLM answers with the tool's text.
 */
async function sumTurn(toolbox: McpToolbox): Promise<ChatEvent[]> {
  const llm = await startFakeOpenAI({
    reply: (request) => {
      const last = request.body.messages.at(-1);
      return last.role === 'tool'
        ? { kind: 'text', chunks: [`Server says: ${last.content}`] }
        : { kind: 'tool_calls', calls: [{ name: 'get-sum', arguments: { a: 2, b: 3 } }] };
    },
  });
  try {
    const provider = new OpenAIProvider({ kind: 'openai_compatible', baseUrl: llm.url });
    const service = new ChatService({ provider, model: 'fake', tools: toolbox });
    const events: ChatEvent[] = [];
    for await (const event of service.chat('What is 2 + 3?')) events.push(event);
    return events;
  } finally {
    await llm.close();
  }
}

function expectSumTurn(events: ChatEvent[]): void {
  expect(events.map((event) => event.type)).toEqual(['tool_start', 'tool_end', 'token', 'final']);
  expect(events[1]).toMatchObject({ type: 'tool_end', tool: 'get-sum' });
  expect(String((events[1] as { output: unknown }).output)).toMatch(/\b5\b/);
  expect(events.at(-1)).toMatchObject({ type: 'final', tool_used: true, tools: ['get-sum'] });
  expect((events.at(-1) as { content: string }).content).toMatch(/Server says: .*\b5\b/);
}

describe('server-everything over stdio', () => {
  it('serves a whole chat turn with a tool call', async () => {
    const toolbox = await McpToolbox.connect(
      [{ transport: 'stdio', command: process.execPath, args: [BIN, 'stdio'] }],
      {
        allowStdio: true,
        connectTimeoutMs: 15_000,
      },
    );
    try {
      expectSumTurn(await sumTurn(toolbox));
    } finally {
      await toolbox.close();
    }
  });

  it('calls get-sum, forwards stderr to the logger, and kills the child on close', async () => {
    const debug = vi.fn();
    const toolbox = await McpToolbox.connect(
      [{ transport: 'stdio', command: process.execPath, args: [BIN, 'stdio'] }],
      {
        allowStdio: true,
        logger: { debug },
        connectTimeoutMs: 15_000,
      },
    );
    try {
      expect(toolbox.listTools().map((tool) => tool.name)).toContain('get-sum');
      const result = await toolbox.callTool('get-sum', { a: 2, b: 3 });
      expect(result.isError).toBe(false);
      expect(result.text).toMatch(/\b5\b/);
      if (process.platform === 'linux') expect(childArgs().some((line) => line.includes(BIN))).toBe(true);
      await vi.waitFor(() => expect(debug).toHaveBeenCalledWith('MCP server stderr', expect.anything()));
    } finally {
      await toolbox.close();
    }
    if (process.platform === 'linux') {
      await vi.waitFor(() => expect(childArgs().some((line) => line.includes(BIN))).toBe(false), { timeout: 5_000 });
    }
  });
});

describe('server-everything over Streamable HTTP', () => {
  let child: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}/mcp`;
    child = spawn(process.execPath, [BIN, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`server-everything did not start: ${output}`)), 20_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/listening/i.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server-everything exited with ${code}: ${output}`));
      });
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    }
  });

  it('serves a whole chat turn with a tool call', async () => {
    const toolbox = await McpToolbox.connect([{ url }]);
    try {
      expectSumTurn(await sumTurn(toolbox));
    } finally {
      await toolbox.close();
    }
  });

  it('calls get-sum', async () => {
    const toolbox = await McpToolbox.connect([{ url }]);
    try {
      const result = await toolbox.callTool('get-sum', { a: 2, b: 3 });
      expect(result.text).toMatch(/\b5\b/);
    } finally {
      await toolbox.close();
    }
  });
});
