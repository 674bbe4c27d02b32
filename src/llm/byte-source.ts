/**
 * A response body as a sequence of byte chunks, whatever carries it: a web `ReadableStream`, or
 * the Node stream of a Node-native transport (which saves a web-stream step per network chunk).
 * @internal
 */
export interface ByteSource {
  /** The next chunk, or `undefined` at the end. Rejects when the body fails or is cancelled. */
  next(): Promise<Uint8Array | undefined>;
  /** Stops the body and frees its connection (and a web reader's lock). Idempotent. */
  cancel(reason?: unknown): Promise<void>;
}

/**
 * Under this symbol a `Response` made by a Node-native transport carries its body as Node chunks
 * (`AsyncIterable<Uint8Array>` with `destroy`); its web `body` is then `null`.
 * @internal
 */
export const NODE_RESPONSE_BODY: unique symbol = Symbol.for('mcp-llmchat.node-response-body') as never;

/** A Node readable body, as a Node-native transport attaches it. @internal */
export interface NodeResponseBody extends AsyncIterable<Uint8Array> {
  destroy(error?: Error): unknown;
}

/** Attaches a Node body to a Response made by a Node-native transport. @internal */
export function setNodeResponseBody(response: Response, body: NodeResponseBody): Response {
  Object.defineProperty(response, NODE_RESPONSE_BODY, { value: body, enumerable: false });
  return response;
}

/** The body of `response` as a {@link ByteSource}, or `undefined` when it has none. @internal */
export function byteSourceOf(response: Response): ByteSource | undefined {
  const node = (response as unknown as Record<symbol, NodeResponseBody | undefined>)[NODE_RESPONSE_BODY];
  if (node !== undefined) return nodeByteSource(node);
  return response.body === null ? undefined : webByteSource(response.body);
}

/** A web stream as a {@link ByteSource}. @internal */
export function webByteSource(stream: ReadableStream<Uint8Array>): ByteSource {
  const reader = stream.getReader();
  let closing: Promise<void> | undefined;
  const release = () => {
    try {
      reader.releaseLock();
    } catch {
      // Already released or errored: nothing left to free.
    }
  };
  return {
    next: async () => {
      // After a cancel the reader may already be released: the body has simply ended.
      if (closing !== undefined) return undefined;
      const result = await reader.read();
      if (!result.done) return result.value;
      release();
      return undefined;
    },
    cancel: (reason) => {
      closing ??= reader.cancel(reason).then(release, release);
      return closing;
    },
  };
}

function nodeByteSource(body: NodeResponseBody): ByteSource {
  const iterator = body[Symbol.asyncIterator]();
  let cancelled = false;
  return {
    next: async () => {
      const result = await iterator.next();
      return result.done ? undefined : result.value;
    },
    cancel: async (reason) => {
      if (cancelled) return;
      cancelled = true;
      body.destroy(reason instanceof Error ? reason : undefined);
    },
  };
}
