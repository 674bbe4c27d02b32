/** The web-standard handler every host adapter wraps. */
export interface ChatHandler {
  /** Serves one request, relative to wherever the host mounted the handler. */
  fetch(request: Request): Promise<Response>;
  /** Closes live MCP connections and timers. Does not close the host's Redis client. */
  close(): Promise<void>;
}
