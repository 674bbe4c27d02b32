/**
 * How far ahead of now a running turn's `startedAt` may be: clocks of the processes (and of
 * Redis) disagree a little, not by more. A record further ahead is junk.
 * @internal
 */
export const START_SKEW_MS = 300_000;

/**
 * Whether a latest-turn record names a running turn: one whose record is ours (a turn id and an
 * owner, as `TurnLog.getLatest` reads it), has not ended, and started at or after `since` and
 * not later than {@link START_SKEW_MS} from `now`. Anything else is junk a new turn replaces:
 * counting it as running would refuse every turn of the conversation (`409 TURN_IN_PROGRESS`)
 * with no turn to take over or wait for. `RedisTurnBackend`'s script applies the same rule.
 * @internal
 */
export function namesRunningTurn(record: string, since: number, now: number = Date.now()): boolean {
  let value: unknown;
  try {
    value = JSON.parse(record);
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null) return false;
  const { ended, startedAt, turnId, owner } = value as Record<string, unknown>;
  return (
    ended !== true &&
    typeof turnId === 'string' &&
    TURN_ID.test(turnId) &&
    typeof owner === 'string' &&
    typeof startedAt === 'number' &&
    startedAt >= since &&
    startedAt <= now + START_SKEW_MS
  );
}

/** The form of a turn id (`TurnLog.newTurnId`, and what `TurnLog.isTurnId` accepts). @internal */
export const TURN_ID = /^[A-Za-z0-9_-]{8,64}$/;
