import { describe, expect, it } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import type { TurnBackend } from '../../src/turns/turn-backend.js';
import { latestTurnKey, turnEventsKey, turnFenceKey } from '../../src/turns/turn-keys.js';
import { type RecordedEvent, TurnLog } from '../../src/turns/turn-log.js';

/** Two handles on one store: two clients for Redis, the same instance twice for memory. */
export type MakeTurnBackends = () => Promise<[TurnBackend, TurnBackend]>;

/** Writes a raw entry the way a foreign writer (or a corrupt store) would, for the junk tests. */
export type WriteJunk = (key: string, seq: number, payload: string) => Promise<void>;

const WAIT = { timeout: 3000, interval: 20 };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isLlmChatError(error) ? error.code : `not an LlmChatError: ${String(error)}`;
  }
  return 'resolved';
}

const tokens = (from: number, to: number): RecordedEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    seq: from + i,
    event: 'token',
    data: { content: `t${from + i} ` },
  }));

/**
 * What every {@link TurnBackend} must do, with {@link TurnLog} on top: append in order, read
 * after a position from another handle, retention, bounds, and typed errors for junk. Runs
 * unchanged on memory and on a real Redis.
 */
export function runTurnBackendContract(name: string, makeBackends: MakeTurnBackends, writeJunk: WriteJunk): void {
  describe(`TurnBackend contract: ${name}`, () => {
    const ref = () => ({ userId: `user:${TurnLog.newTurnId()}`, turnId: TurnLog.newTurnId() });

    it('appends batches and reads them back after any position from the other handle', async () => {
      const [a, b] = await makeBackends();
      const writer = new TurnLog(a);
      const reader = new TurnLog(b);
      const turn = ref();
      await writer.append(turn, tokens(1, 3), 10_000);
      await writer.append(
        turn,
        [...tokens(4, 4), { seq: 5, event: 'final', data: { type: 'final', content: 'ü 🚀\n"q"' } }],
        10_000,
      );
      const all = await reader.read(turn, 0);
      expect(all.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(all[4]).toEqual({ seq: 5, event: 'final', data: { type: 'final', content: 'ü 🚀\n"q"' } });
      expect((await reader.read(turn, 3)).map((event) => event.seq)).toEqual([4, 5]);
      expect(await reader.read(turn, 5)).toEqual([]);
      expect((await reader.read(turn, 1, 2)).map((event) => event.seq)).toEqual([2, 3]);
      expect((await reader.last(turn))?.event).toBe('final');
    });

    it('keeps turns and users apart', async () => {
      const [a, b] = await makeBackends();
      const log = new TurnLog(a);
      const first = ref();
      const other = { ...first, turnId: TurnLog.newTurnId() };
      const otherUser = { ...first, userId: `${first.userId}-2` };
      await log.append(first, tokens(1, 2), 10_000);
      expect(await new TurnLog(b).read(other, 0)).toEqual([]);
      expect(await new TurnLog(b).read(otherUser, 0)).toEqual([]);
      expect(await new TurnLog(b).last(other)).toBeNull();
    });

    it('refuses an append that does not move forward', async () => {
      const [a] = await makeBackends();
      const log = new TurnLog(a);
      const turn = ref();
      await log.append(turn, tokens(1, 3), 10_000);
      expect(await codeOf(log.append(turn, tokens(2, 2), 10_000))).not.toBe('resolved');
      expect((await log.read(turn, 0)).map((event) => event.seq)).toEqual([1, 2, 3]);
    });

    it('refuses a batch that goes back, or starts at or before the end, whole: nothing of it is written', async () => {
      const [a, b] = await makeBackends();
      const turn = ref();
      const key = turnEventsKey(turn.userId, turn.turnId);
      const record = latestTurnKey(turn.userId, 'c1');
      const entries = (...seqs: number[]) => seqs.map((seq) => ({ seq, payload: `p${seq}` }));
      const options = { maxEvents: 100, ttlMs: 10_000 };
      await a.append(key, entries(1, 2, 3), options);
      // Goes back inside the batch: 4 and 5 would be fine, 3 is not.
      expect(await codeOf(a.append(key, entries(4, 5, 3), options))).toBe('BAD_REQUEST');
      // Starts at the end, with a record to set in the same step.
      const withRecord = { ...options, record: { key: record, value: '{"turnId":"x"}', ttlMs: 10_000 } };
      expect(await codeOf(a.append(key, entries(3, 4), withRecord))).toBe('BAD_REQUEST');
      expect((await b.read(key, 0, 100)).map((entry) => entry.seq)).toEqual([1, 2, 3]);
      expect(await b.get(record)).toBeNull();
      // The log goes on from where it was.
      await a.append(key, entries(4), options);
      expect((await b.read(key, 0, 100)).map((entry) => entry.seq)).toEqual([1, 2, 3, 4]);
    });

    it('drops a log after its TTL, and a later append sets a new TTL', async () => {
      const [a, b] = await makeBackends();
      const log = new TurnLog(a);
      const turn = ref();
      const short = ref();
      await log.append(short, tokens(1, 1), 150);
      await log.append(turn, tokens(1, 1), 150);
      await log.append(turn, tokens(2, 2), 10_000);
      await expect.poll(() => new TurnLog(b).read(short, 0), WAIT).toEqual([]);
      expect(await new TurnLog(b).last(short)).toBeNull();
      expect((await new TurnLog(b).read(turn, 0)).map((event) => event.seq)).toEqual([1, 2]);
    });

    it('bounds a log, and a resume before what is kept is RESUME_LOST', async () => {
      const [a, b] = await makeBackends();
      const log = new TurnLog(a, { maxEvents: 10 });
      const turn = ref();
      for (let seq = 1; seq <= 1000; seq += 50) await log.append(turn, tokens(seq, seq + 49), 10_000);
      const kept = await new TurnLog(b).read(turn, 0, 5000).catch((error: unknown) => error);
      // Reading from the start is a resume before what is kept.
      expect(isLlmChatError(kept) && kept.code).toBe('RESUME_LOST');
      const tail = await new TurnLog(b).read(turn, 990);
      expect(tail.map((event) => event.seq)).toEqual([991, 992, 993, 994, 995, 996, 997, 998, 999, 1000]);
      // Redis trims whole nodes (`MAXLEN ~`): a little more than the cap may stay, never all of it.
      const last = await new TurnLog(b).last(turn);
      expect(last?.seq).toBe(1000);
      expect(await codeOf(new TurnLog(b).read(turn, 1))).toBe('RESUME_LOST');
    });

    it('remembers the latest turn of a conversation per conversation', async () => {
      const [a, b] = await makeBackends();
      const log = new TurnLog(a);
      const { userId, turnId } = ref();
      expect(await log.getLatest(userId)).toBeNull();
      await log.setLatest(userId, undefined, { turnId, owner: 'p1', startedAt: 1 }, 10_000);
      await log.setLatest(userId, 'work', { turnId: TurnLog.newTurnId(), owner: 'p2', startedAt: 2 }, 10_000);
      expect(await new TurnLog(b).getLatest(userId)).toEqual({ turnId, owner: 'p1', startedAt: 1 });
      expect((await new TurnLog(b).getLatest(userId, 'work'))?.owner).toBe('p2');
      // The last append of a turn writes the record in the same step.
      await log.append({ userId, turnId }, tokens(1, 1), 10_000, {
        latest: { turnId, owner: 'p1', startedAt: 1, ended: true },
      });
      expect(await new TurnLog(b).getLatest(userId)).toEqual({ turnId, owner: 'p1', startedAt: 1, ended: true });
    });

    it("never lets a turn's last append take the latest-turn record back from a newer turn", async () => {
      const [a, b] = await makeBackends();
      const log = new TurnLog(a);
      const { userId, turnId } = ref();
      const newer = { turnId: TurnLog.newTurnId(), owner: 'p2', startedAt: 2 };
      // The turn was still running past its deadline; a newer one took the conversation meanwhile.
      await log.setLatest(userId, undefined, newer, 10_000);
      expect(
        await log.append({ userId, turnId }, tokens(1, 1), 10_000, {
          latest: { turnId, owner: 'p1', startedAt: 1, ended: true },
        }),
      ).toBe(true);
      expect(await new TurnLog(b).getLatest(userId)).toEqual(newer);
      expect((await new TurnLog(b).last({ userId, turnId }))?.seq).toBe(1);
      // Its own record, a gone one, or junk: the ended record is written.
      for (const before of [JSON.stringify({ turnId, owner: 'p1', startedAt: 1 }), undefined, 'junk', '{"x":1}']) {
        const turn = { userId, turnId: TurnLog.newTurnId() };
        if (before === undefined) await a.delete([latestTurnKey(userId)]);
        else await a.set(latestTurnKey(userId), before.replace(turnId, turn.turnId), 10_000);
        const ended = { turnId: turn.turnId, owner: 'p1', startedAt: 1, ended: true as const };
        await log.append(turn, tokens(1, 1), 10_000, { latest: ended });
        expect(await new TurnLog(b).getLatest(userId), String(before)).toEqual(ended);
      }
    });

    it('records a new turn only when no other turn is recorded as still running', async () => {
      const [a, b] = await makeBackends();
      const log = new TurnLog(a);
      const other = new TurnLog(b);
      const { userId } = ref();
      const turn = (startedAt: number, ended?: true) => ({
        turnId: TurnLog.newTurnId(),
        owner: 'p1',
        startedAt,
        ...(ended ? { ended } : {}),
      });
      const first = turn(1_000);
      expect(await log.startLatest(userId, undefined, first, 10_000, 500)).toBe(true);
      // Still running (not ended, started since the cut-off): left as it was, from either handle.
      expect(await other.startLatest(userId, undefined, turn(2_000), 10_000, 1_000)).toBe(false);
      expect(await other.getLatest(userId)).toEqual(first);
      // Older than the cut-off: past its deadline, replaced.
      const second = turn(3_000);
      expect(await other.startLatest(userId, undefined, second, 10_000, 1_001)).toBe(true);
      expect(await log.getLatest(userId)).toEqual(second);
      // Ended: replaced. Per conversation: another conversation is not blocked by this one.
      expect(await log.startLatest(userId, 'work', turn(3_500), 10_000, 0)).toBe(true);
      await log.setLatest(userId, undefined, { ...second, ended: true }, 10_000);
      const third = turn(4_000);
      expect(await log.startLatest(userId, undefined, third, 10_000, 0)).toBe(true);
      expect(await other.getLatest(userId)).toEqual(third);
      // Junk in the record never blocks a conversation: it is replaced.
      const farAhead = Date.now() + 30 * 86_400_000;
      for (const junk of [
        'junk',
        '"text"',
        '[1]',
        'null',
        '{"startedAt":"5000"}',
        '{"ended":false}',
        // Running-looking, but not ours: no turn id or owner, or a start no clock could give.
        '{"startedAt":9000000000000000}',
        JSON.stringify({ startedAt: Date.now(), owner: 'p1' }),
        JSON.stringify({ startedAt: Date.now(), turnId: 'no spaces allowed', owner: 'p1' }),
        JSON.stringify({ startedAt: Date.now(), turnId: TurnLog.newTurnId() }),
        JSON.stringify({ ...turn(0), startedAt: farAhead }),
      ]) {
        await a.set(latestTurnKey(userId), junk, 10_000);
        const next = turn(5_000);
        expect(await log.startLatest(userId, undefined, next, 10_000, 0), junk).toBe(true);
        expect(await log.getLatest(userId)).toEqual(next);
      }
    });

    it('fences a turn: once claimed, the old owner can append nothing, the claimer goes on', async () => {
      const [a, b] = await makeBackends();
      const owner = new TurnLog(a);
      const claimer = new TurnLog(b);
      const turn = ref();
      // The first owner writes with epoch 1 before any fence exists.
      expect(await owner.append(turn, tokens(1, 2), 10_000, { epoch: 1 })).toBe(true);
      expect(await owner.holdsEpoch(turn, 1)).toBe(true);
      const epoch = await claimer.claim(turn, 10_000);
      expect(epoch).toBe(2);
      // The old owner, woken from a pause: refused, and nothing of it is stored.
      const ended = { turnId: turn.turnId, owner: 'old', startedAt: 1, ended: true };
      expect(await owner.append(turn, tokens(3, 3), 10_000, { epoch: 1, latest: ended })).toBe(false);
      expect(await owner.holdsEpoch(turn, 1)).toBe(false);
      expect(await claimer.getLatest(turn.userId)).toBeNull();
      expect(await claimer.append(turn, tokens(3, 4), 10_000, { epoch })).toBe(true);
      expect((await claimer.read(turn, 0)).map((event) => event.seq)).toEqual([1, 2, 3, 4]);
      // A second claim (a claimer that died too) shuts the first claimer out in turn.
      expect(await owner.claim(turn, 10_000)).toBe(3);
      expect(await claimer.append(turn, tokens(5, 5), 10_000, { epoch })).toBe(false);
      expect(await claimer.holdsEpoch(turn, 3)).toBe(true);
      // An unfenced append (abandoned sends) is not affected.
      expect(await claimer.append(turn, tokens(5, 5), 10_000)).toBe(true);
    });

    it('claims an idempotency key once, and lets it go again', async () => {
      const [a, b] = await makeBackends();
      const log = new TurnLog(a);
      const { userId, turnId } = ref();
      const record = { turnId, digest: 'abc' };
      expect(await log.claimIdempotencyKey(userId, undefined, 'key:1', record)).toBeNull();
      expect(
        await new TurnLog(b).claimIdempotencyKey(userId, undefined, 'key:1', {
          turnId: TurnLog.newTurnId(),
          digest: 'x',
        }),
      ).toEqual(record);
      // Another conversation, another key space.
      expect(await log.claimIdempotencyKey(userId, 'other', 'key:1', record)).toBeNull();
      await log.releaseIdempotencyKey(userId, undefined, 'key:1');
      expect(await log.claimIdempotencyKey(userId, undefined, 'key:1', record)).toBeNull();
    });

    it('answers junk in storage with EVENT_LOG_INVALID, never a crash or a wrong event', async () => {
      const [a] = await makeBackends();
      const log = new TurnLog(a);
      for (const junk of [
        'not json',
        '[1,2]',
        '{"e":"token"}',
        '{"e":"BAD NAME","d":{}}',
        '{"e":"token","d":"text"}',
      ]) {
        const turn = ref();
        await writeJunk(turnEventsKey(turn.userId, turn.turnId), 1, junk);
        expect(await codeOf(log.read(turn, 0))).toBe('EVENT_LOG_INVALID');
        expect(await codeOf(log.last(turn))).toBe('EVENT_LOG_INVALID');
      }
      const user = ref().userId;
      await a.set(latestTurnKey(user), 'junk', 10_000);
      expect(await log.getLatest(user)).toBeNull();
      // A junk fence refuses every fenced write until a claim replaces it.
      const fenced = ref();
      await a.set(turnFenceKey(fenced.userId, fenced.turnId), 'junk', 10_000);
      expect(await log.append(fenced, tokens(1, 1), 10_000, { epoch: 1 })).toBe(false);
      expect(await log.holdsEpoch(fenced, 1)).toBe(false);
      const epoch = await log.claim(fenced, 10_000);
      expect(await log.append(fenced, tokens(1, 1), 10_000, { epoch })).toBe(true);
    });
  });
}
