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

/** Answers one elicitation for the tool call that is running when it comes. */
export type ElicitationHandler = (request: ElicitationRequest, signal: AbortSignal) => Promise<ElicitationResult>;

/**
 * Routes a server's `elicitation/create` to the turn whose tool call it belongs to: each call
 * that can ask registers its handler for its server while it runs, and a request goes to the
 * latest call on that server. With none running (a server asking out of turn) the answer is
 * `cancel`: no user is there to ask.
 * @internal
 */
export class ElicitationRouter {
  readonly #active = new Map<string, ElicitationHandler[]>();

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
    if (handler === undefined || request === undefined) return { action: 'cancel' };
    try {
      return await handler(request, signal);
    } catch {
      return { action: 'cancel' };
    }
  }
}

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
