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
