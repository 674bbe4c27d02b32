import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ScriptedChatMessage, type ScriptedReply, scriptedReply } from './scripted-reply.js';

/** Options of {@link startScriptedModel}. */
export interface ScriptedModelOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Scales every streaming delay; 0 streams at once (tests). @default 1 */
  speed?: number;
}

/** A running scripted model server. */
export interface ScriptedModel {
  /** API root including `/v1`, ready for an `openai_compatible` model's `baseUrl`. */
  baseUrl: string;
  /** Stops the server, cutting any stream in progress. */
  close(): Promise<void>;
}

/** The model name the scripted server reports. */
export const SCRIPTED_MODEL_NAME = 'demo-scripted';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Starts a tiny OpenAI-compatible Chat Completions server on loopback that answers by the rules of
 * {@link scriptedReply}. It speaks the real streaming format (`chat.completion.chunk` frames,
 * `tool_calls` deltas split into pieces, `finish_reason`, a usage chunk, `data: [DONE]`), so the
 * library's `openai_compatible` provider talks to it exactly as to a real server. Text streams word
 * by word with a small delay, so streaming and the Stop button can be seen.
 *
 * @example
 * const model = await startScriptedModel();
 * const models = [{ id: 'demo-scripted', provider: 'openai_compatible', baseUrl: model.baseUrl }];
 */
export async function startScriptedModel(options: ScriptedModelOptions = {}): Promise<ScriptedModel> {
  const speed = options.speed ?? 1;
  const server = createServer((req, res) => {
    handle(req, res, speed).catch(() => {
      if (!res.headersSent) sendError(res, 500, 'server_error', 'The scripted model failed.');
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}/v1`,
    close: () => closeServer(server),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, speed: number): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
  if (req.method === 'GET' && path === '/v1/models') {
    sendJson(res, 200, {
      object: 'list',
      data: [{ id: SCRIPTED_MODEL_NAME, object: 'model', created: 0, owned_by: 'mcp-llmchat-demo' }],
    });
    return;
  }
  if (path !== '/v1/chat/completions') {
    sendError(res, 404, 'not_found', 'Unknown route.');
    return;
  }
  if (req.method !== 'POST') {
    sendError(res, 405, 'method_not_allowed', 'Use POST.');
    return;
  }
  let body: { messages?: unknown; tools?: unknown; stream?: unknown; model?: unknown };
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    sendError(res, 400, 'invalid_request_error', 'The body must be JSON.');
    return;
  }
  if (!Array.isArray(body.messages)) {
    sendError(res, 400, 'invalid_request_error', "'messages' must be an array.");
    return;
  }
  const messages = body.messages as ScriptedChatMessage[];
  const toolNames = Array.isArray(body.tools)
    ? (body.tools as { function?: { name?: unknown } }[])
        .map((tool) => tool.function?.name)
        .filter((name): name is string => typeof name === 'string')
    : [];
  const reply = scriptedReply(messages, toolNames);
  const model = typeof body.model === 'string' ? body.model : SCRIPTED_MODEL_NAME;
  const promptTokens = Math.ceil(JSON.stringify(messages).length / 4);

  if (body.stream !== true) {
    sendJson(res, 200, completion(reply, model, promptTokens));
    return;
  }
  await streamReply(req, res, reply, model, promptTokens, speed);
}

async function streamReply(
  req: IncomingMessage,
  res: ServerResponse,
  reply: ScriptedReply,
  model: string,
  promptTokens: number,
  speed: number,
): Promise<void> {
  // The client hanging up (the user pressed Stop) ends the stream at the next word.
  const stopped = new AbortController();
  res.on('close', () => stopped.abort());
  req.on('aborted', () => stopped.abort());

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const send = (choices: unknown[], extra: Record<string, unknown> = {}) => {
    if (stopped.signal.aborted) return;
    const chunk = { id, object: 'chat.completion.chunk', created, model, choices, ...extra };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  };

  send([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  let completionTokens = 0;
  if (reply.type === 'tool_call') {
    const callId = `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    const args = JSON.stringify(reply.arguments);
    const half = Math.ceil(args.length / 2);
    await delay(150 * speed, stopped.signal);
    send([
      {
        index: 0,
        delta: {
          tool_calls: [{ index: 0, id: callId, type: 'function', function: { name: reply.name, arguments: '' } }],
        },
        finish_reason: null,
      },
    ]);
    // Arguments arrive in pieces, as real servers send them.
    for (const piece of [args.slice(0, half), args.slice(half)]) {
      await delay(40 * speed, stopped.signal);
      send([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] }, finish_reason: null }]);
    }
    completionTokens = Math.ceil(args.length / 4) + 5;
    send([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]);
  } else {
    const words = reply.text.match(/\S+\s*|\s+/g) ?? [];
    for (const word of words) {
      await delay(reply.wordDelayMs * speed, stopped.signal);
      if (stopped.signal.aborted) break;
      send([{ index: 0, delta: { content: word }, finish_reason: null }]);
    }
    completionTokens = words.length;
    send([{ index: 0, delta: {}, finish_reason: 'stop' }]);
  }
  send([], {
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  });
  if (!stopped.signal.aborted) res.write('data: [DONE]\n\n');
  res.end();
}

function completion(reply: ScriptedReply, model: string, promptTokens: number): Record<string, unknown> {
  const message =
    reply.type === 'tool_call'
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
              type: 'function',
              function: { name: reply.name, arguments: JSON.stringify(reply.arguments) },
            },
          ],
        }
      : { role: 'assistant', content: reply.text };
  const completionTokens = reply.type === 'text' ? reply.text.split(/\s+/).length : 10;
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: reply.type === 'tool_call' ? 'tool_calls' : 'stop' }],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('Body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { error: { message, type, code: null } });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
