/**
 * The longest `/stop`, and the delete of a conversation, wait for the running turn to end before
 * answering. A turn still running when a delete stopped waiting has run at least this long, which
 * is how a turn knows to look for the delete before it saves (see `fencedHistory`).
 * @internal
 */
export const STOP_WAIT_MS = 5_000;
