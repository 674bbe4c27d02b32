import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import express from 'express';
import {
  type ApprovalDecision,
  type ChatUser,
  createChatHandler,
  type Logger,
  type ModelConfig,
  memoryStorage,
  type ToolCallForApproval,
} from 'mcp-llmchat';
import { toExpressMiddleware } from 'mcp-llmchat/express';
import { buildMcpServer, startDemoMcpServer } from './demo-mcp-server.js';
import { type DemoEnv, demoModelsFromEnv, SCRIPTED_MODEL_ID, scriptedModelConfig } from './demo-models.js';
import { startOAuthMcpServer } from './demo-oauth-mcp-server.js';
import { isLocalRequest } from './local-only.js';
import { startScriptedModel } from './scripted-model.js';
import { NotesStore } from './tools/notes-store.js';

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** Port of the web page and `/llmchat`. @default Number(env.PORT) || 3000 */
  port?: number;
  /** Interface to listen on. @default env.HOST || '127.0.0.1' */
  host?: string;
  /** Where API keys and model names are read from. @default process.env */
  env?: DemoEnv;
  /** Speed factor of the scripted model's streaming delays (0 = no delay). @default 1 */
  scriptedSpeed?: number;
  /** Diagnostics of the chat handler. @default none */
  logger?: Logger;
  /**
   * Puts the demo tools behind OAuth, with a local authorization server that shows a consent
   * page: Connect sends the browser there first. @default env.DEMO_OAUTH === '1'
   */
  oauth?: boolean;
}

/** A running demo. */
export interface RunningDemo {
  /** The page, e.g. `http://localhost:3000/`. */
  url: string;
  /** The models users can pick. */
  models: { id: string; name: string; provider: string }[];
  /** True when the built-in scripted model answers (no API key configured). */
  scripted: boolean;
  /** The demo MCP server's endpoint. */
  mcpUrl: string;
  /** Stops the web server, the chat handler, the MCP server and the scripted model. */
  close(): Promise<void>;
}

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const USER_ID = /^[A-Za-z0-9_-]{6,64}$/;
const SYSTEM_PROMPT =
  'You are the assistant of the mcp-llmchat demo. Use the tools when they help: calculate for any ' +
  'arithmetic, current_time for dates and times, convert_units for units, distance_in_my_units to show ' +
  'a distance in the unit system the user picks, notes_search, notes_add and notes_delete for the shared ' +
  'notes. Answer briefly in Markdown.';

/**
 * The demo's tool-approval rule: a tool that says it may destroy something (`notes_delete`) waits
 * for the user's OK; everything else runs. The demo trusts its own server's annotations; a host
 * with servers it does not control would rather list tools by name, or use `'annotations'`.
 */
export const demoToolApproval = (call: ToolCallForApproval): ApprovalDecision =>
  call.annotations.destructiveHint === true || call.tool.endsWith('notes_delete') ? 'ask' : 'allow';

/**
 * Starts the whole demo in this process: the demo MCP server, the scripted model when no API key
 * is configured, and an Express 5 app serving the chat page and the library at `/llmchat`.
 *
 * @example
 * const demo = await startDemo({ port: 0, env: {} });
 * console.log(demo.url);
 * await demo.close();
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const env = options.env ?? (process.env as DemoEnv);
  const port = options.port ?? (Number(env.PORT) || 3000);
  const host = options.host ?? (env.HOST || '127.0.0.1');
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  };

  try {
    const oauth = options.oauth ?? env.DEMO_OAUTH === '1';
    const mcp = oauth ? await startProtectedTools() : await startDemoMcpServer();
    closers.push(() => mcp.close());

    let models: ModelConfig[] = demoModelsFromEnv(env);
    const scripted = models.length === 0;
    if (scripted) {
      const model = await startScriptedModel({ speed: options.scriptedSpeed ?? 1 });
      closers.push(() => model.close());
      models = [scriptedModelConfig(model.baseUrl)];
    }

    const storage = memoryStorage();
    closers.push(() => storage.close());
    // With OAuth, the handler needs its public callback URL, known once the server listens.
    let handler: ReturnType<typeof createChatHandler> | undefined;
    let middleware: ReturnType<typeof toExpressMiddleware> | undefined;
    const createHandler = (origin: string) => {
      handler = createChatHandler({
        authenticate: demoAuthenticate,
        models,
        mcp: { defaultServer: { name: 'demo', url: mcp.url }, allowedUrls: [mcp.url] },
        storage,
        // Ask before destructive tools; relay the MCP server's questions (elicitation) to the page.
        toolApproval: demoToolApproval,
        elicitation: true,
        ...(scripted ? {} : { systemPrompt: SYSTEM_PROMPT }),
        ...(options.logger ? { logger: options.logger } : {}),
        ...(oauth
          ? {
              // A fresh key per run: the demo's storage is in memory anyway.
              sealKey: randomBytes(32),
              oauth: {
                redirectUrl: `${origin}/llmchat/oauth/callback`,
                returnUrl: `${origin}/`,
                clientName: 'mcp-llmchat demo',
              },
            }
          : {}),
      });
      closers.push(() => handler?.close() ?? Promise.resolve());
      middleware = toExpressMiddleware(handler);
    };

    const app = express();
    app.disable('x-powered-by');
    let listening: Server | undefined;
    const hostNames = wildcardHost(host) ? localAddresses() : [host];
    app.use((req, res, next) => {
      // DNS rebinding: a web page whose name resolves to this machine must not reach the demo,
      // its API key and its tools. Only requests addressed to the names it listens on pass.
      const port = (listening?.address() as AddressInfo | null)?.port;
      const request = { method: req.method, host: req.headers.host, origin: req.headers.origin };
      if (port !== undefined && isLocalRequest(request, port, hostNames)) next();
      else res.status(403).json({ detail: `Open the demo at http://localhost:${port}/.`, code: 'FORBIDDEN' });
    });
    app.use((_req, res, next) => {
      // The page needs nothing from elsewhere; a strict policy also backs up the safe Markdown renderer.
      res.setHeader(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      );
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      next();
    });
    app.use('/llmchat', (req, res, next) => {
      if (middleware) middleware(req, res, next);
      else res.status(503).json({ detail: 'Starting.', code: 'BACKEND_UNAVAILABLE' });
    });
    app.get('/demo/info', (_req, res) => {
      res.json({ mcp_server_url: mcp.url, tools: mcp.tools, scripted, scripted_model_id: SCRIPTED_MODEL_ID });
    });
    app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));

    const server = await listen(app, port, host);
    listening = server;
    closers.push(() => closeServer(server));
    const address = server.address() as AddressInfo;
    const shownHost = host === '127.0.0.1' || wildcardHost(host) ? 'localhost' : host;
    createHandler(`http://${shownHost}:${address.port}`);

    return {
      url: `http://${shownHost}:${address.port}/`,
      models: models.map((m) => ({ id: m.id, name: m.name ?? m.model ?? m.id, provider: m.provider })),
      scripted,
      mcpUrl: mcp.url,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The demo's stand-in for real authentication: the page sends a random per-tab id in the
 * `x-demo-user` header (and a `demo_user` cookie as fallback). A real app returns its signed-in
 * user here, from its own session cookie or token; never trust a client-chosen id in production.
 */
function demoAuthenticate(request: Request): ChatUser | null {
  const header = request.headers.get('x-demo-user');
  if (header && USER_ID.test(header)) return { id: header };
  const cookie = /(?:^|;\s*)demo_user=([^;]+)/.exec(request.headers.get('cookie') ?? '')?.[1];
  if (cookie && USER_ID.test(cookie)) return { id: cookie };
  return null;
}

/** The demo tools behind OAuth, with a consent page. */
async function startProtectedTools() {
  const notes = new NotesStore();
  const server = await startOAuthMcpServer({ consent: true, createServer: () => buildMcpServer(notes) });
  return {
    url: server.url,
    tools: ['calculate', 'current_time', 'convert_units', 'notes_search', 'notes_add'],
    close: () => server.close(),
  };
}

function wildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** The addresses of this machine: what others use to reach a demo listening on all interfaces. */
function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address));
}

function listen(app: express.Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => {
      if (error) reject(error);
      else resolve(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function main(): Promise<void> {
  const demo = await startDemo({
    logger: { warn: (message) => console.warn(`[llmchat] ${message}`), error: (m) => console.error(`[llmchat] ${m}`) },
  });
  // Measured from process start, so it includes loading TypeScript through tsx.
  console.log(`mcp-llmchat demo listening on ${demo.url} (ready in ${process.uptime().toFixed(2)} s)`);
  for (const model of demo.models) console.log(`  model: ${model.name} [${model.provider}]`);
  if (demo.scripted) {
    console.log('  No OPENAI_API_KEY or ANTHROPIC_API_KEY set: the scripted demo model answers (simple rules, no AI).');
  }
  console.log(`  MCP server: ${demo.mcpUrl} (calculate, current_time, convert_units, notes_*, distance_in_my_units)`);
  console.log('  Press Ctrl+C to stop.');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: shutting down…`);
    // A stuck connection must not keep the process alive forever.
    setTimeout(() => process.exit(1), 5000).unref();
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  main().catch((error: unknown) => {
    console.error('The demo could not start:', error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
