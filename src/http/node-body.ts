/**
 * A fast path for Node hosts. A streaming Response built by the handler carries, under this
 * symbol, the async iterable of encoded SSE chunks that its web `body` stream wraps. The Node
 * bridge writes those chunks straight to the socket, skipping the web-stream machinery that
 * otherwise costs a chunk, a promise and a copy per token. Other hosts read `response.body`.
 * Only one of the two may be consumed.
 * @internal
 */
export const NODE_BODY: unique symbol = Symbol.for('mcp-llmchat.node-body') as never;

/** What a Response may carry under {@link NODE_BODY}. @internal */
export type NodeBody = AsyncIterable<string>;

/** Reads the fast-path body of a Response, if it has one. @internal */
export function getNodeBody(response: Response): NodeBody | undefined {
  return (response as unknown as Record<symbol, NodeBody | undefined>)[NODE_BODY];
}

/** Attaches a fast-path body to a Response. @internal */
export function setNodeBody(response: Response, body: NodeBody): Response {
  Object.defineProperty(response, NODE_BODY, { value: body, enumerable: false });
  return response;
}

/**
 * The request-side twin of {@link NODE_BODY}. A Request built by the Node bridge carries, under
 * this symbol, the way to its body: what a host parser already produced, or a reader of the raw
 * Node stream. The handler reads the body from it instead of through a web stream, and such a
 * Request has no web `body` of its own.
 * @internal
 */
export const NODE_REQUEST: unique symbol = Symbol.for('mcp-llmchat.node-request') as never;

/** What a Request may carry under {@link NODE_REQUEST}. @internal */
export interface NodeRequestBody {
  /** The body a host parser already produced (`express.json()`, a Koa body parser), if any. */
  parsed: unknown;
  /** Reads the raw body as UTF-8 text, failing with `PAYLOAD_TOO_LARGE` past `maxBytes`. */
  read(maxBytes: number): Promise<string>;
}

/** Reads the Node body source of a Request, if it has one. @internal */
export function getNodeRequestBody(request: Request): NodeRequestBody | undefined {
  return (request as unknown as Record<symbol, NodeRequestBody | undefined>)[NODE_REQUEST];
}

/** Attaches a Node body source to a Request. @internal */
export function setNodeRequestBody(request: Request, body: NodeRequestBody): Request {
  Object.defineProperty(request, NODE_REQUEST, { value: body, enumerable: false });
  return request;
}

/**
 * Marks a handler made by `createChatHandler`: it reads {@link NODE_REQUEST} bodies, so the Node
 * adapters may skip building web request streams for it. Other handlers get standard Requests.
 * @internal
 */
export const NODE_AWARE: unique symbol = Symbol.for('mcp-llmchat.node-aware') as never;

/** Whether a handler reads Node request bodies. @internal */
export function isNodeAware(handler: object): boolean {
  return (handler as Record<symbol, unknown>)[NODE_AWARE] === true;
}
