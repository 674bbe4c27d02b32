import { networkClassOf } from '../internal/network-class.js';
import type { Logger } from '../types.js';

/** What an MCP server asks the user for (`elicitation/create`), in the library's own terms. */
export interface ElicitationRequest {
  /** The server that asks (its name in the toolbox). */
  server: string;
  mode: 'form' | 'url';
  message: string;
  /** Form mode: the fields to fill in, as the server sent them (untrusted until parsed). */
  requestedSchema?: unknown;
  /** URL mode: the page to open, and the server's id for the request. */
  url?: string;
  elicitationId?: string;
}

/** The user's answer, as it goes back to the server. */
export interface ElicitationResult {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, unknown>;
}

/** Options of {@link ElicitationRouter}. */
export interface ElicitationRouterOptions {
  /** Told (without the URL's query or path) when a server's URL-mode request is refused. */
  logger?: Logger;
}

/** Answers one elicitation for the tool call that is running when it comes. */
export type ElicitationHandler = (request: ElicitationRequest, signal: AbortSignal) => Promise<ElicitationResult>;

/**
 * Routes a server's `elicitation/create` to the turn whose tool call it belongs to: each call
 * that can ask registers its handler for its server while it runs, and a request goes to the
 * latest call on that server. With none running (a server asking out of turn) the answer is
 * `cancel`: no user is there to ask. A URL-mode request whose URL a browser should not open
 * (see {@link isOpenableElicitationUrl}) is answered `decline` without asking anyone, and a
 * call that already has two questions open gets `cancel` for more.
 * @internal
 */
export class ElicitationRouter {
  readonly #active = new Map<string, ElicitationHandler[]>();
  /** Requests each handler (each tool call) is answering now. */
  readonly #pending = new Map<ElicitationHandler, number>();
  readonly #logger: Logger | undefined;

  constructor(options: ElicitationRouterOptions = {}) {
    this.#logger = options.logger;
  }

  /** Registers `handler` for calls on `server` until the returned function is called. */
  enter(server: string, handler: ElicitationHandler): () => void {
    const stack = this.#active.get(server) ?? [];
    stack.push(handler);
    this.#active.set(server, stack);
    return () => {
      const index = stack.indexOf(handler);
      if (index !== -1) stack.splice(index, 1);
      if (stack.length === 0 && this.#active.get(server) === stack) this.#active.delete(server);
    };
  }

  /** Handles one request from `server`'s connection. Never throws: a failure answers `cancel`. */
  async dispatch(server: string, params: unknown, signal: AbortSignal): Promise<ElicitationResult> {
    const handler = this.#active.get(server)?.at(-1);
    const request = toRequest(server, params);
    if (request?.url !== undefined && !isOpenableElicitationUrl(request.url)) {
      this.#logger?.warn?.('MCP server asked the user to open a URL that is not allowed (https only); declined', {
        server,
        ...urlSummary(request.url),
      });
      // An explicit refusal (MCP: `decline`), not a dismissal: asking again with it is refused again.
      return { action: 'decline' };
    }
    if (handler === undefined || request === undefined) return { action: 'cancel' };
    const pending = this.#pending.get(handler) ?? 0;
    if (pending >= MAX_PENDING_PER_CALL) {
      // Each one would be a question stored, announced and waited on: a server that sends
      // thousands at once must not make as many.
      this.#logger?.warn?.('MCP server asked the user again while its last questions were open; cancelled', {
        server,
      });
      return { action: 'cancel' };
    }
    this.#pending.set(handler, pending + 1);
    try {
      return await handler(request, signal);
    } catch {
      return { action: 'cancel' };
    } finally {
      const left = (this.#pending.get(handler) ?? 1) - 1;
      if (left > 0) this.#pending.set(handler, left);
      else this.#pending.delete(handler);
    }
  }
}

/**
 * Questions one tool call may have open with its user at once. A server asks, waits for the
 * answer, and may then ask again; two leaves room for one asked as another is withdrawn.
 */
const MAX_PENDING_PER_CALL = 2;

function toRequest(server: string, params: unknown): ElicitationRequest | undefined {
  if (params === null || typeof params !== 'object') return undefined;
  const given = params as Record<string, unknown>;
  const message = typeof given.message === 'string' ? given.message.slice(0, 4_000) : '';
  if (given.mode === 'url') {
    if (typeof given.url !== 'string') return undefined;
    return {
      server,
      mode: 'url',
      message,
      url: given.url,
      ...(typeof given.elicitationId === 'string' ? { elicitationId: given.elicitationId } : {}),
    };
  }
  return { server, mode: 'form', message, requestedSchema: given.requestedSchema };
}

/**
 * Whether a URL-mode elicitation's URL may be shown to the user to open: `https:`, or `http:` on
 * a loopback host (a server under development). Anything else is refused: the page renders the
 * URL as a link, and a `javascript:` or `data:` link runs in the page's own origin. So is a URL
 * with credentials before its host (`https://bank.example@evil.example`), which hides the real host.
 */
export function isOpenableElicitationUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username !== '' || parsed.password !== '') return false;
  if (parsed.protocol === 'https:') return true;
  return parsed.protocol === 'http:' && networkClassOf(parsed.hostname) === 'loopback';
}

/** What a log may say of a refused URL: its scheme and host, never its path or query (tokens, scripts). */
function urlSummary(url: string): { scheme?: string; host?: string } {
  try {
    const parsed = new URL(url);
    return { scheme: parsed.protocol, ...(parsed.host ? { host: parsed.host } : {}) };
  } catch {
    return {};
  }
}
