/** The record of the turn a conversation ran last. */
export interface LatestTurn {
  turnId: string;
  /** The id of the process that runs (or ran) it, whose control channel stops it. */
  owner: string;
  /** When it started (epoch ms): a turn with no events yet may still be starting. */
  startedAt: number;
  /** Set once it ended: a reader finding no events then knows they expired. */
  ended?: boolean;
  /**
   * The user's message, while the turn runs: what a process taking the turn over after a crash
   * needs besides the recorded events (dropped once the turn ended).
   */
  message?: string;
}

/** The form of a turn id (`TurnLog.newTurnId`, and what `TurnLog.isTurnId` accepts). @internal */
export const TURN_ID = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * How far ahead of now a turn's `startedAt` may be: clocks of the processes (and of Redis)
 * disagree a little, not by more. A record further ahead is junk.
 * @internal
 */
export const START_SKEW_MS = 300_000;

/**
 * A conversation's latest-turn record as stored, read: `null` for anything that is not ours (no
 * turn id of the right form, no owner or start, not JSON) or that says it started further ahead
 * of `now` than clocks disagree. The one reading of the record, for `TurnLog.getLatest` and for
 * the memory backend's "is a turn running" (the Redis script applies the same rule in Lua).
 * @internal
 */
export function readLatestTurn(raw: string | null, now: number = Date.now()): LatestTurn | null {
  let value: unknown;
  try {
    value = raw === null ? null : JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { turnId, owner, startedAt, ended, message } = value as Record<string, unknown>;
  if (typeof turnId !== 'string' || !TURN_ID.test(turnId) || typeof owner !== 'string') return null;
  if (typeof startedAt !== 'number' || startedAt > now + START_SKEW_MS) return null;
  const latest: LatestTurn = { turnId, owner, startedAt };
  if (ended === true) latest.ended = true;
  if (typeof message === 'string') latest.message = message;
  return latest;
}

/**
 * Whether a latest-turn record names a running turn: ours (see {@link readLatestTurn}), not
 * ended, started at or after `since`. Anything else is junk or over, and a new turn replaces it:
 * counting junk as running would refuse every turn of the conversation (`409 TURN_IN_PROGRESS`)
 * with no turn to take over or wait for.
 * @internal
 */
export function namesRunningTurn(record: string, since: number, now: number = Date.now()): boolean {
  const latest = readLatestTurn(record, now);
  return latest !== null && latest.ended !== true && latest.startedAt >= since;
}
