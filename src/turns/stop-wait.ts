/**
 * The longest `/stop`, and the delete of a conversation, wait for the running turn to end before
 * answering. A delete finds the turn by its latest-turn record, so a turn still running when a
 * delete stopped waiting was recorded at least this long ago: that is how a turn knows to look for
 * the delete before it saves (see `fencedHistory`, which counts from before the record was written).
 * @internal
 */
export const STOP_WAIT_MS = 5_000;
