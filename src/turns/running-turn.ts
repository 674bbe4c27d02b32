import { isLlmChatError, LlmChatError } from '../errors.js';
import { copyWith } from '../internal/copy-with.js';
import { GrowingText } from '../internal/growing-text.js';
import { type PushSource, pullFrom } from '../internal/push-source.js';
import type { LockLease } from '../lock/lock-manager.js';
import type { ChatEvent, Logger } from '../types.js';
import { endRetrierOf } from './end-retrier.js';
import {
  type LatestTurn,
  type RecordedEvent,
  TERMINAL_EVENTS,
  type TurnAppendExtras,
  type TurnLog,
  type TurnRef,
} from './turn-log.js';

/** What a {@link RunningTurn} needs besides its events. @internal */
export interface RunningTurnOptions {
  ref: TurnRef;
  log: TurnLog;
  /**
   * Log TTL while the turn runs (it is cut to the retention once the turn ends). Also how long,
   * from its start, a last event whose write failed is retried: the turn's running records live
   * no longer, so no process can take the turn over after that.
   */
  runningTtlMs: number;
  /**
   * Called after each acknowledged write with the events it stored, to tell readers on other
   * processes; only once one of them asked ({@link RunningTurn.watch}).
   */
  announce?: (events: readonly RecordedEvent[]) => void;
  /** The conversation's latest-turn record once this turn has ended, stored with its last event. */
  endedLatest?: LatestTurn;
  /**
   * Called once the last event is stored and before readers of this process see it: so when a
   * client sees `final`, the turn has let its lease go and the next turn is welcome.
   */
  beforeEnd?: () => Promise<void>;
  /**
   * Writes only while the turn's fence holds this epoch (1 for a new turn). Once another process
   * has claimed the turn, the next write is refused: the chat loop is aborted and readers of this
   * process end (they resume from the log, where the new owner writes). Unfenced when absent.
   */
  epoch?: number;
  /**
   * The turn's lease: freed by the write of the turn's last event when the log can do that in the
   * same step (then marked released), else left to `beforeEnd`.
   */
  lease?: Pick<LockLease, 'lock' | 'releasedElsewhere'>;
  /** Where a turn taken over after a crash goes on: what the log holds already. */
  resumed?: ResumedTurnState;
  logger?: Logger;
}

/** What a turn taken over from a dead process starts from. @internal */
export interface ResumedTurnState {
  /** The seq of the last recorded event: the next one is one more. */
  lastSeq: number;
  /** The answer text recorded so far. */
  text: string;
  /** Tools used so far, in first-use order. */
  tools: readonly string[];
  /** When the turn first started (epoch ms), for `elapsed_ms`. */
  startedAt: number;
}

const STOPPED_MESSAGE = 'The chat turn was stopped.';
const TAKEN_OVER_MESSAGE = 'The chat turn was taken over by another process.';
// The abort reasons of user stops, so the turn's history can say "stopped" rather than "interrupted".
const STOP_REASONS = new WeakSet<object>();

/** Whether `reason` (an aborted turn signal's) is a user's stop (`POST /stop`, a deleted conversation). */
export function isStopReason(reason: unknown): boolean {
  return typeof reason === 'object' && reason !== null && STOP_REASONS.has(reason);
}
/** How far (in characters) the chat loop may run ahead of a reader that paces it. */
const PACE_AHEAD_CHARS = 65_536;

/** Roughly what an event weighs in a reader's buffer: its text, or a flat amount. */
function weightOf(event: RecordedEvent): number {
  const content = event.data.content;
  return typeof content === 'string' ? content.length + 64 : 256;
}

/** How one batch of events is written to the log. */
interface BatchWrite {
  last: RecordedEvent;
  terminal: boolean;
  ttlMs: number;
  release: RunningTurnOptions['lease'];
  extras: TurnAppendExtras;
}

/** Where one reader of this process is: the seq of the next event it takes. */
interface ReaderPosition {
  next: number;
}

/**
 * One turn this process runs: it numbers the events of the chat loop, keeps them for readers of
 * this process (until the log has them and every reader here took them), and writes them to the
 * event log. Readers here get an event as soon as the write that takes it has started (before it
 * is acknowledged), in that same step. Writes never wait on each other: while one is in flight,
 * the events that arrive meanwhile (usually what one network chunk produced) queue up and go out
 * together in the next one, so a fast stream costs one round trip per batch, not per token. A
 * log in this process (`TurnLog.appendsSync`) stores each event before returning: readers then
 * get it once stored, still in the step that recorded it, with no promise in between.
 * @internal
 */
export class RunningTurn {
  readonly ref: TurnRef;
  readonly #log: TurnLog;
  readonly #runningTtlMs: number;
  readonly #announce: ((events: readonly RecordedEvent[]) => void) | undefined;
  readonly #beforeEnd: (() => Promise<void>) | undefined;
  readonly #endedLatest: LatestTurn | undefined;
  /** Whether a reader on another process follows: only then are stored events announced. */
  #watched = false;
  /** The last event is held back from readers until the turn has wound down. */
  #visibleEnd = false;
  readonly #logger: Logger | undefined;
  readonly #controller = new AbortController();
  /**
   * The events a reader here may still want. Once the starter's reader came, an event goes when
   * the log has it and every reader here took it: a long answer weighs on the log, not on the
   * process, and a reader that comes later reads the log first.
   */
  readonly #events: RecordedEvent[] = [];
  /** The seq of `#events[0]`: older events were dropped from memory (the log has them, unless it lost them). */
  #firstSeq = 1;
  /** The readers of this process, while they read. */
  readonly #readers = new Set<ReaderPosition>();
  /** Whether the reader of the request that started the turn came: until then, every event stays for it. */
  #starterCame = false;
  /** Readers parked until the next event (or the end): all woken, synchronously, and dropped at once. */
  #waiters: Array<() => void> | undefined;
  /** Recorded, not yet handed to the log (a new array a batch: the log keeps none). */
  #pending: RecordedEvent[] | undefined;
  #writing: Promise<void> | undefined;
  /** A {@link #flushSync} is on the stack: what is recorded meanwhile waits for its next batch. */
  #writingSync = false;
  #ended = false;
  #stopRequested = false;
  /** Another process claimed the turn: nothing more is written. */
  #fenced = false;
  /** What every append but the last one passes the log: one object for the whole turn. */
  readonly #appendExtras: TurnAppendExtras;
  readonly #lease: RunningTurnOptions['lease'];
  /** The seq of the newest event the log acknowledged. */
  #storedSeq = 0;
  /**
   * The seq up to which the log acknowledged every event, with no failed write in between: only
   * those may leave memory (a write that failed leaves a gap in the log that later writes skip).
   */
  #loggedThrough = 0;
  /** A write failed: the log has a gap, and #loggedThrough stays where it was. */
  #logGap = false;
  /**
   * The seq of the newest event the log took (or failed to take: a storage that fails does not
   * stop the stream). Readers see no further: a reader may put an event on a socket at once, and
   * a client must not see an event the log refused or may still lose, or a takeover would leave
   * it seen but unrecorded, its id numbered again by the new owner.
   */
  #sentSeq = 0;
  /** The last event, when its write failed: it is retried before the lease goes. */
  #unwrittenEnd: RecordedEvent | undefined;
  readonly #startedAt: number;
  readonly #resumed: boolean;
  readonly #text = new GrowingText();
  readonly #tools: string[] = [];
  /** Characters recorded so far, and how many of them the pacing reader took. */
  #recordedChars = 0;
  #pacedChars = 0;
  #pacing = false;
  #resumeSource: (() => void) | undefined;
  #flushed!: () => void;
  /** Settles once the last event is written (or its write failed). */
  readonly stored: Promise<void> = new Promise((resolve) => {
    this.#flushed = resolve;
  });

  constructor(options: RunningTurnOptions) {
    this.ref = options.ref;
    this.#log = options.log;
    this.#runningTtlMs = options.runningTtlMs;
    this.#announce = options.announce;
    this.#beforeEnd = options.beforeEnd;
    this.#endedLatest = options.endedLatest;
    this.#appendExtras = options.epoch === undefined ? {} : { epoch: options.epoch };
    this.#lease = options.lease;
    this.#logger = options.logger;
    const resumed = options.resumed;
    this.#resumed = resumed !== undefined;
    this.#startedAt = performance.now() - (resumed ? Math.max(0, Date.now() - resumed.startedAt) : 0);
    if (resumed) {
      this.#firstSeq = resumed.lastSeq + 1;
      this.#storedSeq = resumed.lastSeq;
      this.#loggedThrough = resumed.lastSeq;
      // No reader here started this turn: its readers come through the log, so none is waited for.
      this.#starterCame = true;
      this.#sentSeq = resumed.lastSeq;
      this.#text.append(resumed.text);
      this.#tools.push(...resumed.tools);
      // Readers elsewhere asked the dead process to announce; this one announces from the start.
      this.#watched = true;
    }
  }

  /** How long the turn has been running, in ms (since it first started, across takeovers). */
  get runningMs(): number {
    return performance.now() - this.#startedAt;
  }

  /** Aborted by {@link stop}: hand it to the chat loop. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the turn's last event has been recorded. */
  get ended(): boolean {
    return this.#ended;
  }

  /** How many readers here wait for the next event. @internal (diagnostics and tests) */
  get parkedReaders(): number {
    return this.#waiters?.length ?? 0;
  }

  /** The seq of the newest recorded event (0 before the first). */
  get lastSeq(): number {
    return this.#firstSeq + this.#events.length - 1;
  }

  /** The seq of the oldest event still in memory (newer ones are all there). */
  get firstKeptSeq(): number {
    return this.#firstSeq;
  }

  /** The seq of the newest event readers may see. */
  get #visibleSeq(): number {
    // Once fenced out, only what reached the log is this turn's: the new owner numbers on from there.
    if (this.#fenced) return this.#storedSeq;
    return Math.min(this.#ended && !this.#visibleEnd ? this.lastSeq - 1 : this.lastSeq, this.#sentSeq);
  }

  /**
   * Stops the turn on behalf of a user: the chat loop is aborted, and its ending becomes a
   * `final` with `"stopped": true` and the text so far. Does nothing once the turn ended.
   */
  stop(): boolean {
    if (this.#ended) return false;
    this.#stopRequested = true;
    const reason = new LlmChatError('ABORTED', STOPPED_MESSAGE);
    STOP_REASONS.add(reason);
    this.#controller.abort(reason);
    this.#resume();
    return true;
  }

  /** Aborts the chat loop for another reason (a lost reader under the old rule, a timeout); it ends with `error`. */
  abort(reason: LlmChatError): void {
    if (!this.#ended) this.#controller.abort(reason);
    this.#resume();
  }

  /**
   * Records a token the chat loop hands over directly (`ChatTurnOptions.onToken`), as {@link run}
   * records a `token` event of its source, with no async step. Resolves once the chat loop may go
   * on when the starter's reader is too far behind (the 0.1 rule, see {@link starterFeed}).
   */
  pushToken(text: string): Promise<void> | undefined {
    if (this.#ended) return undefined;
    this.#record({ type: 'token', content: text });
    return this.#paceHold();
  }

  /**
   * Records every event of `source` until its end. A source that ends without a `final` or
   * `error` (or throws) gets an `error`, so every reader sees the turn end.
   */
  async run(source: AsyncIterable<ChatEvent>): Promise<void> {
    try {
      for await (const event of source) {
        if (this.#ended) break;
        this.#record(event);
        const held = this.#paceHold();
        if (held !== undefined) await held;
      }
    } catch (error) {
      this.#logger?.error?.('chat turn source failed', { error: String(error) });
    }
    if (!this.#ended) {
      this.#record({ type: 'error', error: 'An unexpected error occurred.', recoverable: false, code: 'INTERNAL' });
    }
    await this.stored;
  }

  /**
   * The events after `afterSeq` as they come, ending after the last one. `undefined` when
   * events right after `afterSeq` are no longer in memory (read the log instead).
   */
  events(afterSeq: number, signal?: AbortSignal): AsyncGenerator<RecordedEvent, void, undefined> | undefined {
    const feed = this.feed(afterSeq);
    return feed && pullFrom(feed, signal);
  }

  /**
   * {@link events} as a {@link PushSource}: the reader is called back as each event is recorded,
   * and takes it in the same step (what an SSE stream writing to a socket wants).
   */
  feed(afterSeq: number): PushSource<RecordedEvent> | undefined {
    if (afterSeq + 1 < this.#firstSeq) return undefined;
    return this.#feed(afterSeq, false);
  }

  /**
   * The reader of the request that started the turn, from its first event. Until it comes, every
   * event stays in memory for it (the log may not have them all: a conversation deleted meanwhile
   * takes its turns' logs along). With `paced` (the 0.1 rule, `stopOnDisconnect`), the chat loop
   * waits while it is far ahead of what this reader took.
   */
  starterFeed(options: { paced: boolean }): PushSource<RecordedEvent> {
    if (options.paced) this.#pacing = true;
    const feed = this.#feed(0, options.paced);
    this.#starterCame = true;
    return feed;
  }

  /**
   * A reader on another process follows this turn: from now on every stored batch is announced,
   * and an empty announcement after the write in flight tells it to read what was stored before.
   */
  watch(): void {
    this.#watched = true;
    const nudge = () => this.#announce?.([]);
    if (this.#writing === undefined) nudge();
    else void this.#writing.then(nudge);
  }

  /**
   * The 0.1 rule: a reader that stops reading holds the chat loop back (and so the LLM's socket).
   * A promise that settles once the reader caught up, or `undefined` to go on at once.
   */
  #paceHold(): Promise<void> | undefined {
    if (!this.#pacing || this.#recordedChars - this.#pacedChars <= PACE_AHEAD_CHARS || this.signal.aborted) {
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.#resumeSource = resolve;
    });
  }

  #resume(): void {
    const resume = this.#resumeSource;
    this.#resumeSource = undefined;
    resume?.();
  }

  #feed(afterSeq: number, pacing: boolean): PushSource<RecordedEvent> {
    const position: ReaderPosition = { next: afterSeq + 1 };
    let ended = false;
    this.#readers.add(position);
    const finish = () => {
      ended = true;
      this.#readers.delete(position);
    };
    // What the reader asked to be called with; parked in #waiters through `onWake`, which a
    // reader that closes takes out (readers that come and go while a turn waits on its user
    // would otherwise pile up there until its next event).
    let wake: (() => void) | undefined;
    const onWake = () => {
      const reader = wake;
      wake = undefined;
      reader?.();
    };
    return {
      drain: (take) => {
        if (ended) return true;
        if (position.next < this.#firstSeq) {
          finish();
          throw new LlmChatError('RESUME_LOST', 'The events of this turn after the given id are no longer retained.');
        }
        while (position.next <= this.#visibleSeq) {
          const event = this.#events[position.next - this.#firstSeq] as RecordedEvent;
          position.next += 1;
          if (pacing) {
            this.#pacedChars += weightOf(event);
            if (this.#recordedChars - this.#pacedChars <= PACE_AHEAD_CHARS) this.#resume();
          }
          if (TERMINAL_EVENTS.has(event.event)) finish();
          if (!take(event) || ended) break;
        }
        // Fenced out, or ended with its last event hidden: nothing more comes to this reader.
        if (!ended && position.next > this.#visibleSeq && this.#visibleEnd) finish();
        this.#dropTaken();
        return ended;
      },
      onReady: (reader) => {
        const parked = wake !== undefined;
        wake = reader;
        if (parked) return;
        if (this.#waiters === undefined) this.#waiters = [onWake];
        else this.#waiters.push(onWake);
      },
      close: () => {
        finish();
        if (wake === undefined) return;
        wake = undefined;
        const waiters = this.#waiters;
        const at = waiters === undefined ? -1 : waiters.indexOf(onWake);
        if (at >= 0) waiters?.splice(at, 1);
      },
    };
  }

  /** Lets go of the events the log holds that every reader here took (once the starter's reader came). */
  #dropTaken(): void {
    if (!this.#starterCame) return;
    let keepFrom = this.#loggedThrough + 1;
    for (const reader of this.#readers) keepFrom = Math.min(keepFrom, reader.next);
    // The last event stays until the turn has wound down: a reader must not see it (from the log) sooner.
    if (this.#ended && !this.#visibleEnd) keepFrom = Math.min(keepFrom, this.lastSeq);
    const drop = keepFrom - this.#firstSeq;
    if (drop <= 0) return;
    // Usually one event a step: `shift` leaves no array behind, as `splice` would.
    if (drop === 1) this.#events.shift();
    else this.#events.splice(0, drop);
    this.#firstSeq = keepFrom;
  }

  /**
   * Wakes every parked reader, synchronously: each is woken once (a reader parks again for the
   * next event).
   */
  #wakeReaders(): void {
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters === undefined) return;
    for (const wake of waiters) {
      // A reader runs in this step now (it may write to a socket): its failure is its own, and
      // must neither stop the turn nor keep the other readers from their event.
      try {
        wake();
      } catch (error) {
        this.#logger?.warn?.('a reader of the turn failed', { error: String(error) });
      }
    }
  }

  #record(chatEvent: ChatEvent): void {
    const recorded = this.#toRecorded(chatEvent);
    const terminal = TERMINAL_EVENTS.has(recorded.event);
    this.#events.push(recorded);
    this.#recordedChars += weightOf(recorded);
    // Memory follows the log's bound: a reader that falls further behind reads the log (or is told it lost the turn).
    const overflow = this.#events.length - this.#log.maxEvents;
    if (overflow > 0) {
      this.#events.splice(0, overflow);
      this.#firstSeq += overflow;
    }
    if (terminal) this.#ended = true;
    if (this.#pending === undefined) this.#pending = [recorded];
    else this.#pending.push(recorded);
    // Readers are woken by the write that takes the event (see #sentSeq): at once when no write
    // is in flight, else when the one in flight is done and the next one starts.
    if (this.#writing !== undefined || this.#writingSync) return;
    if (this.#log.appendsSync) this.#flushSync();
    else this.#writing = this.#flush();
  }

  #toRecorded(event: ChatEvent): RecordedEvent {
    const seq = this.lastSeq + 1;
    switch (event.type) {
      case 'token':
        this.#text.append(event.content);
        return { seq, event: 'token', data: { content: event.content } };
      case 'tool_start':
        if (!this.#tools.includes(event.tool)) this.#tools.push(event.tool);
        return { seq, event: event.type, data: { ...event } };
      case 'final': {
        const data = this.#dataWithTurnId(event);
        // A turn taken over counts its time from its first start, not from the takeover.
        if (this.#resumed) data.elapsed_ms = Math.round(performance.now() - this.#startedAt);
        return { seq, event: 'final', data };
      }
      case 'error':
        if (this.#stopRequested) return { seq, event: 'final', data: this.#stoppedFinal() };
        return { seq, event: 'error', data: this.#dataWithTurnId(event) };
      default:
        return { seq, event: event.type, data: { ...event } };
    }
  }

  /** An event's fields and the turn's id, as clients get them. */
  #dataWithTurnId(event: ChatEvent): Record<string, unknown> {
    return copyWith(event as object, { turn_id: this.ref.turnId }) as Record<string, unknown>;
  }

  #stoppedFinal(): Record<string, unknown> {
    return {
      type: 'final',
      content: this.#text.text,
      tool_used: this.#tools.length > 0,
      tools: [...this.#tools],
      elapsed_ms: Math.round(performance.now() - this.#startedAt),
      stopped: true,
      turn_id: this.ref.turnId,
    };
  }

  async #flush(): Promise<void> {
    for (let batch = this.#pending; batch !== undefined && !this.#fenced; batch = this.#pending) {
      this.#pending = undefined;
      const write = this.#writeOf(batch);
      try {
        // Shown once the log took them, not when they were asked of it: a write refused because
        // another process claimed the turn would leave a client holding events (and their ids)
        // that the new owner numbers again, and a resume from the last id would skip its own.
        if (!(await this.#log.append(this.ref, batch, write.ttlMs, write.extras))) {
          this.#fence();
          break;
        }
        this.#sentSeq = write.last.seq;
        this.#written(batch, write);
      } catch (error) {
        // The storage failed: readers here still get every event (readers elsewhere see a gap).
        this.#sentSeq = write.last.seq;
        this.#writeFailed(error, write);
      }
      this.#wakeReaders();
    }
    this.#writing = undefined;
    if (this.#ended) void this.#end();
  }

  /**
   * {@link #flush} for a log that appends before it returns (memory): each batch is stored, then
   * shown to readers, in the step that recorded it. Events recorded meanwhile (by a reader woken
   * here) join the next batch of the same loop.
   */
  #flushSync(): void {
    this.#writingSync = true;
    try {
      this.#flushSyncLoop();
    } finally {
      // Whatever threw (a host's logger, say), later events must still be written.
      this.#writingSync = false;
    }
    if (this.#ended) void this.#end();
  }

  #flushSyncLoop(): void {
    for (let batch = this.#pending; batch !== undefined && !this.#fenced; batch = this.#pending) {
      this.#pending = undefined;
      const write = this.#writeOf(batch);
      let written: boolean;
      try {
        written = this.#log.appendSync(this.ref, batch, write.ttlMs, write.extras);
      } catch (error) {
        this.#sentSeq = write.last.seq;
        this.#writeFailed(error, write);
        this.#wakeReaders();
        continue;
      }
      if (!written) {
        this.#fence();
        break;
      }
      this.#sentSeq = write.last.seq;
      this.#written(batch, write);
      this.#wakeReaders();
    }
  }

  /** How a batch is written: its TTL, and with the turn's last event, the lease freed in the same step. */
  #writeOf(batch: RecordedEvent[]): BatchWrite {
    const last = batch[batch.length - 1] as RecordedEvent;
    const terminal = TERMINAL_EVENTS.has(last.event);
    const ttlMs = terminal ? this.#log.retentionMs : this.#runningTtlMs;
    // The turn's last write also frees its lease, when the log can: one step less at the end.
    const release = terminal && this.#lease && this.#log.freesLocks ? this.#lease : undefined;
    return { last, terminal, ttlMs, release, extras: terminal ? this.#lastExtras(release) : this.#appendExtras };
  }

  /** The log acknowledged a batch: the events it holds may leave memory, and readers elsewhere hear of them. */
  #written(batch: RecordedEvent[], write: BatchWrite): void {
    write.release?.releasedElsewhere();
    this.#storedSeq = write.last.seq;
    if (!this.#logGap) this.#loggedThrough = write.last.seq;
    this.#dropTaken();
    if (this.#watched) this.#announce?.(batch);
  }

  #writeFailed(error: unknown, write: BatchWrite): void {
    // Readers of this process still get every event; readers elsewhere see a gap (RESUME_LOST).
    this.#logGap = true;
    this.#logger?.warn?.('could not record turn events', { code: (error as { code?: string }).code ?? 'INTERNAL' });
    if (write.terminal) this.#unwrittenEnd = write.last;
  }

  #lastExtras(release: RunningTurnOptions['lease']): TurnAppendExtras {
    // Not a spread of #appendExtras: see `copyWith` for what adding to one costs on Node 20.
    const extras: TurnAppendExtras = Object.assign({}, this.#appendExtras);
    if (this.#endedLatest) extras.latest = this.#endedLatest;
    if (release) extras.releaseLock = { key: release.lock.key, token: release.lock.token };
    return extras;
  }

  /**
   * Another process took the turn over (this one was paused past its lease): stop the chat loop
   * and write nothing more. Readers of this process end without a last event and resume from the
   * log, where the new owner goes on.
   */
  #fence(): void {
    this.#fenced = true;
    this.#pending = undefined;
    this.#logger?.warn?.('the chat turn was taken over by another process; stopping here');
    this.#controller.abort(new LlmChatError('LOCK_LOST', TAKEN_OVER_MESSAGE));
    this.#ended = true;
    // Nothing after the fence is the log's: hide what this process recorded but could not write.
    this.#resume();
  }

  async #end(): Promise<void> {
    const unwritten = this.#unwrittenEnd;
    if (unwritten !== undefined) {
      // The storage failed the last write: readers here end now, but the turn keeps its lease
      // (still renewed) and its place in this process until the end is recorded. Given up
      // earlier, a process taking over the unfinished turn once the storage is back would run
      // again a turn whose end this one's readers have already shown (an `error`, usually):
      // the model asked to go on with a cut answer, saved in a history the user never saw.
      this.#showEnd();
      // Until the turn's records expire (`runningTtlMs` from its start): no one can take it over then.
      const untilMs = Date.now() + Math.max(0, this.#startedAt + this.#runningTtlMs - performance.now());
      await endRetrierOf(this.#log).retry(() => this.#retryEnd(unwritten), untilMs);
    }
    try {
      await this.#beforeEnd?.();
    } catch (error) {
      this.#logger?.warn?.('could not wind the turn down', { error: String(error) });
    }
    this.#showEnd();
  }

  #showEnd(): void {
    if (this.#visibleEnd) return;
    this.#visibleEnd = true;
    this.#wakeReaders();
    this.#flushed();
  }

  /** One try at the last event whose write failed: `true` once nothing is left to do. */
  async #retryEnd(last: RecordedEvent): Promise<boolean> {
    try {
      // A write that timed out may have landed all the same: the same seq again would be
      // refused on every try, holding the turn's lease and resources to the deadline.
      const stored = await this.#log.last(this.ref);
      if (stored !== null && stored.seq >= last.seq) return true;
      // Written, or refused because another process took the turn over: either way, done here.
      if (await this.#log.append(this.ref, [last], this.#log.retentionMs, this.#lastExtras(undefined))) {
        this.#storedSeq = last.seq;
        // Readers on other processes have been waiting for it.
        if (this.#watched) this.#announce?.([last]);
      }
      return true;
    } catch (error) {
      const code = isLlmChatError(error) ? error.code : 'INTERNAL';
      if (code === 'BACKEND_UNAVAILABLE') return false;
      // Not the storage being away (a log it cannot read): no retry will do better.
      this.#logger?.warn?.('could not record the end of a turn', { code });
      return true;
    }
  }
}
