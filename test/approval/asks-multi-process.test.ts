import { randomUUID } from 'node:crypto';
import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { elicitingMcpServer } from '../fixtures/eliciting-mcp-server.js';
import { type FakeLlmServer, startFakeOpenAI } from '../fixtures/fake-openai-server.js';
import { startTestMcpHttpServer, type TestMcpHttpServer } from '../fixtures/test-mcp-server.js';
import {
  deletePrefix,
  REDIS_URL,
  requireRedis,
  startWorkers,
  type Worker,
  workerRequest,
} from '../multiprocess/worker-process.js';
import { SseReader } from '../turns/turn-helpers.js';
import { askReply, untilEvent } from './ask-helpers.js';

// CONTRACT §7 across real processes sharing one Redis: the turn runs on A and waits; the user's
// answer is posted to another process; the tool then runs on A.
const available = await requireRedis('Multi-process approval tests');
const PREFIX = `llmchat-asks-mp:${randomUUID()}:`;
// Long enough that a stalled machine (a CI run on two busy cores) does not lose a renewal.
const LOCK_TTL_MS = 2000;

describe.skipIf(!available)('approval and elicitation across processes sharing Redis', () => {
  let llm: FakeLlmServer;
  let mcp: TestMcpHttpServer;
  let redis: Redis;
  let a: Worker;
  let b: Worker;
  let c: Worker;
  const workers: Worker[] = [];
  const answers: ElicitResult[] = [];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    llm = await startFakeOpenAI({ reply: askReply });
    mcp = await startTestMcpHttpServer({ createServer: elicitingMcpServer(answers) });
    await startWorkers(workers, ['A', 'B', 'C'], {
      redisUrl: REDIS_URL,
      keyPrefix: PREFIX,
      llmUrl: llm.url,
      mcpUrl: mcp.url,
      lockTtlMs: LOCK_TTL_MS,
      toolApproval: 'always',
      elicitation: true,
    });
    [a, b, c] = workers as [Worker, Worker, Worker];
  }, 90_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await Promise.all([llm?.close(), mcp?.close()]);
    if (redis) {
      await deletePrefix(redis, PREFIX);
      await redis.quit();
    }
  });

  function send(worker: Worker, path: string, user: string, body?: unknown) {
    return workerRequest(worker, path, user, body, 20_000);
  }
  async function startTurn(user: string, message: string) {
    expect((await send(a, '/connect', user, { llm: { model: 'fake' } })).status).toBe(200);
    const started = await send(a, '/chat', user, { message, streaming: true });
    expect(started.status).toBe(200);
    const stream = new SseReader(started);
    const asked = await untilEvent(stream, 'tool_approval');
    return { stream, asked, callId: String(asked.data.id), turnId: started.headers.get('x-turn-id') };
  }

  it('approval posted to B lets the tool run on A; elicitation answered on C reaches the server', async () => {
    const { stream, asked, callId } = await startTurn('mp-ask', 'convert 10 km');
    expect(asked.data).toMatchObject({ tool: 'convert', input: { km: 10 } });
    expect(mcp.stats.calls.convert ?? 0).toBe(0);
    expect(await (await send(b, '/approve', 'mp-ask', { call_id: callId, decision: 'approve' })).json()).toMatchObject({
      status: 'approved',
    });
    const form = await untilEvent(stream, 'elicitation');
    expect(mcp.stats.calls.convert).toBe(1);
    expect(
      (await send(c, '/elicitation', 'mp-ask', { id: form.data.id, action: 'accept', content: { system: 'metric' } }))
        .status,
    ).toBe(200);
    const all = await stream.all();
    expect(answers.at(-1)).toEqual({ action: 'accept', content: { system: 'metric', decimals: 1 } });
    expect(all.at(-1)).toMatchObject({ event: 'final', data: { content: 'The result is 10.0 km.' } });
    // tool_start announces the model's call; the server only sees it once approved.
    expect(all.map((frame) => frame.event).filter((name) => name !== 'token')).toEqual([
      'tool_start',
      'tool_approval',
      'elicitation',
      'tool_end',
      'final',
    ]);
    // Used once, on every process.
    expect((await send(c, '/approve', 'mp-ask', { call_id: callId, decision: 'approve' })).status).toBe(404);
    expect((await send(a, '/elicitation', 'mp-ask', { id: form.data.id, action: 'accept' })).status).toBe(404);
  });

  it('keeps the lease renewed while it waits longer than lockTtlMs: another send is refused meanwhile', async () => {
    const { stream, callId } = await startTurn('mp-lease', 'add 2 and 3');
    await new Promise((resolve) => setTimeout(resolve, LOCK_TTL_MS * 3));
    const second = await send(b, '/chat', 'mp-lease', { message: 'hello?' });
    expect(second.status).toBe(409);
    expect((await send(c, '/approve', 'mp-lease', { call_id: callId, decision: 'approve' })).status).toBe(200);
    const all = await stream.all();
    expect(all.at(-1)).toMatchObject({ event: 'final', data: { content: 'The result is 5.' } });
    expect((await send(b, '/chat', 'mp-lease', { message: 'hello?' })).status).toBe(200);
  });

  it('a stop from B while waiting ends the turn with final stopped, and withdraws the question', async () => {
    const calls = mcp.stats.calls.add ?? 0;
    const { stream, callId, turnId } = await startTurn('mp-ask-stop', 'add 4 and 5');
    expect(await (await send(b, '/stop', 'mp-ask-stop', {})).json()).toEqual({
      status: 'stopped',
      user_id: 'mp-ask-stop',
      turn_id: turnId,
    });
    expect((await stream.all()).at(-1)).toMatchObject({ event: 'final', data: { stopped: true } });
    const late = await send(c, '/approve', 'mp-ask-stop', { call_id: callId, decision: 'approve' });
    expect([late.status, (await late.json()).code]).toEqual([404, 'APPROVAL_NOT_FOUND']);
    expect(mcp.stats.calls.add ?? 0).toBe(calls);
  });

  it('a reload while waiting re-attaches on B, sees the pending question, and the answer from C still works', async () => {
    const { stream, asked, callId } = await startTurn('mp-ask-reload', 'add 6 and 7');
    await stream.cancel();
    const again = await send(b, '/chat/events/mp-ask-reload', 'mp-ask-reload');
    expect(again.status).toBe(200);
    const resumed = new SseReader(again);
    const replayed = await untilEvent(resumed, 'tool_approval');
    expect(replayed.data).toEqual(asked.data);
    expect((await send(c, '/approve', 'mp-ask-reload', { call_id: callId, decision: 'approve' })).status).toBe(200);
    const all = await resumed.all();
    expect(all.at(-1)).toMatchObject({ event: 'final', data: { content: 'The result is 13.' } });
  });
});
