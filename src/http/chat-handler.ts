import type { UsageLedger } from '../usage/usage-ledger.js';

/** The web-standard handler every host adapter wraps. */
export interface ChatHandler {
  /** The usage ledger, when the `usage` option (or a token budget) turned accounting on. */
  readonly usage?: UsageLedger | undefined;
  /** Serves one request, relative to wherever the host mounted the handler. */
  fetch(request: Request): Promise<Response>;
  /** Closes live MCP connections and timers. Does not close the host's Redis client. */
  close(): Promise<void>;
}
