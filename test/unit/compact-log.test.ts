import { describe, expect, it } from 'vitest';
import { CompactLog } from '../../src/turns/compact-log.js';

const token = (text: string) => JSON.stringify({ e: 'token', d: { content: text } });

/** A log and what was appended to it, to compare what it reads back with. */
function recordingLog() {
  const log = new CompactLog();
  const appended: Array<{ seq: number; payload: string }> = [];
  const add = (seq: number, payload: string) => {
    log.push(seq, payload);
    appended.push({ seq, payload });
  };
  return { log, appended, add };
}

describe('CompactLog', () => {
  it('reads back every payload exactly as appended, across runs, gaps and kinds of event', () => {
    const { log, appended, add } = recordingLog();
    add(1, JSON.stringify({ e: 'start', d: { turn_id: 't1' } }));
    for (let seq = 2; seq <= 40; seq++) add(seq, token(seq % 5 === 0 ? `é "quoted" ✓\n${seq}` : `w${seq} `));
    add(41, JSON.stringify({ e: 'tool_start', d: { tool: 'add' } }));
    // A gap (a write that failed), then more tokens and the end.
    for (let seq = 45; seq <= 50; seq++) add(seq, token(`x${seq}`));
    add(51, JSON.stringify({ e: 'final', d: { content: 'done' } }));
    expect(log.size).toBe(appended.length);
    expect(log.lastSeq).toBe(51);
    expect(log.read(0, 1000)).toEqual(appended);
    for (const after of [0, 1, 17, 40, 41, 42, 44, 45, 50, 51, 99]) {
      expect(log.read(after, 7)).toEqual(appended.filter((entry) => entry.seq > after).slice(0, 7));
    }
    expect(log.last()).toEqual(appended.at(-1));
  });

  it('keeps token-shaped payloads it cannot read back the same as they are', () => {
    const log = new CompactLog();
    const odd = [
      '{"e":"token","d":{"content":"a","x":1}}',
      '{"e":"token","d":{"content": "spaced"}}',
      '{"e":"token","d":{"content":"\\u0041"}}',
      '{"e":"token","d":{"content":42}}',
      '{"e":"token","d":{"content":"unclosed}}',
      'not json at all',
      '"a bare string"',
    ];
    odd.forEach((payload, i) => {
      log.push(i + 1, payload);
    });
    expect(log.read(0, 100).map((entry) => entry.payload)).toEqual(odd);
  });

  it('keeps the newest entries when bounded, cutting into a run or dropping whole ones', () => {
    const log = new CompactLog();
    log.push(1, '{"e":"start","d":{}}');
    for (let seq = 2; seq <= 20; seq++) log.push(seq, token(`t${seq}`));
    log.push(21, '{"e":"final","d":{}}');
    log.keepNewest(10);
    expect(log.size).toBe(10);
    expect(log.read(0, 100).map((entry) => entry.seq)).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
    expect(log.read(0, 1)[0]?.payload).toBe(token('t12'));
    log.keepNewest(1);
    expect(log.read(0, 100)).toEqual([{ seq: 21, payload: '{"e":"final","d":{}}' }]);
    log.keepNewest(0);
    expect([log.size, log.lastSeq, log.last()]).toEqual([0, 0, undefined]);
  });

  it('reads back long runs of tokens (packed 16 at a time) exactly, as they are bounded', () => {
    const { log, appended, add } = recordingLog();
    add(1, '{"e":"start","d":{}}');
    for (let seq = 2; seq <= 400; seq++)
      add(seq, token(seq % 9 === 0 ? `é ✓ "${seq}"\n` : seq % 13 === 0 ? '' : `t${seq} `));
    add(401, '{"e":"final","d":{}}');
    expect(log.read(0, 1000)).toEqual(appended);
    for (const after of [0, 1, 64, 65, 66, 129, 200, 399, 400]) {
      expect(log.read(after, 70)).toEqual(appended.filter((entry) => entry.seq > after).slice(0, 70));
    }
    for (const keep of [390, 300, 257, 100, 64, 63, 2]) {
      log.keepNewest(keep);
      expect(log.read(0, 1000)).toEqual(appended.slice(-keep));
    }
  });

  it('hands out fresh entry objects', () => {
    const log = new CompactLog();
    log.push(1, token('a'));
    const [first] = log.read(0, 1);
    (first as { payload: string }).payload = 'changed';
    expect(log.last()).toEqual({ seq: 1, payload: token('a') });
  });

  it('reads, bounds and numbers as the plain array did for inputs outside TurnLog (fractions, NaN, negatives)', () => {
    const log = new CompactLog();
    for (let seq = 1; seq <= 5; seq++) log.push(seq, token(`t${seq}`));
    expect(log.read(2.5, 10).map((entry) => entry.seq)).toEqual([3, 4, 5]);
    expect(log.read(Number.NaN, 10).map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(log.read(Number.NEGATIVE_INFINITY, 2).map((entry) => entry.seq)).toEqual([1, 2]);
    expect(log.read(Number.POSITIVE_INFINITY, 10)).toEqual([]);
    // Seqs that are not whole numbers get runs of their own and read back as given.
    log.push(5.5, token('half'));
    log.push(Number.NaN, '{"e":"note","d":{}}');
    expect(log.read(5, 10)).toEqual([
      { seq: 5.5, payload: token('half') },
      { seq: Number.NaN, payload: '{"e":"note","d":{}}' },
    ]);
    // A bound that is not a number keeps everything; a fraction counts down; a negative empties.
    log.keepNewest(Number.NaN);
    expect(log.size).toBe(7);
    log.keepNewest(3.7);
    expect(log.read(0, 10).map((entry) => entry.seq)).toEqual([5, 5.5, Number.NaN]);
    log.keepNewest(-1);
    expect([log.size, log.read(0, 10)]).toEqual([0, []]);
  });
});
