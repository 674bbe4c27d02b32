import { randomBytes } from 'node:crypto';
import type { MessageBus } from '../bus/message-bus.js';
import { LlmChatError } from '../errors.js';
import { isPushSource, type PushSource, pullFrom } from '../internal/push-source.js';
import { unrefTimer } from '../internal/unref-timer.js';
import type { TextSink } from '../llm/llm-provider.js';
import type { ChatEvent, Logger } from '../types.js';
import { type ResumedTurnState, RunningTurn, type RunningTurnOptions } from './running-turn.js';
import { StopMarkPoller } from './stop-mark-poller.js';
import { STOP_WAIT_MS } from './stop-wait.js';
import { processControlChannel, turnEventsChannel } from './turn-keys.js';
import {
  type LatestTurn,
  type RecordedEvent,
  TERMINAL_EVENTS,
  TurnLog,
  type TurnRef,
  type UnderLockRecord,
} from './turn-log.js';
import { UnfinishedTurnError } from './unfinished-turn-error.js';

/** Options of {@link TurnManager}. @internal */
export interface TurnManagerOptions {
  log: TurnLog;
  bus: MessageBus;
  /** The longest a turn may run: its log and records live at least this long plus the retention. */
  turnTimeoutMs: number;
  /**
   * A reader waiting this long without news re-reads the log once, in case a bus message was
   * lost (the bus is best effort). Not a poll for data: news normally arrives on the bus. Turns
   * running this long have their stop marks read this often, for the same reason.
   * @default 10000
   */
  recheckMs?: number;
  logger?: Logger;
}

/** What {@link TurnManager.start} needs. @internal */
export interface StartTurnOptions {
  userId: string;
  conversationId?: string;
  /** Use this id instead of a new one (an idempotency key already named it). */
  turnId?: string;
  /** The user's message, kept with the running turn for a process that may have to take it over. */
  message?: string;
  /**
   * The chat loop, given the signal that stops the turn and a sink that records a token at once
   * (give it to the chat loop as `onToken`: no async step a token).
   */
  source: (signal: AbortSignal, onToken: TextSink) => AsyncIterable<ChatEvent>;
  /** Goes on with a turn this process took over (see `takeOverTurn`), instead of a new one. */
  continueFrom?: ContinuedTurn;
  /**
   * Called once the turn has ended and its last event is stored, before readers of this process
   * see that event (release the lease here: a client that sees `final` may send the next turn).
   */
  onEnded?: () => void | Promise<void>;
  /**
   * The turn's lease (its conversation's turn lock): the write of the turn's last event frees it
   * when the storage can do both in one step; `onEnded` then finds it released.
   */
  lease?: RunningTurnOptions['lease'];
  /** The record {@link TurnManager.recordUnderLock} already sent for this turn: its id is the turn's. */
  early?: EarlyTurnRecord;
}

/**
 * A new turn's latest-turn record, sent in its lock's round trip by
 * {@link TurnManager.recordUnderLock}, before the turn itself starts. @internal
 */
export interface EarlyTurnRecord {
  readonly turnId: string;
  readonly startedAt: number;
  /**
   * How the record went, for the turn that starts with it ({@link TurnManager.start} calls
   * this): once it says `recorded`, the record is the turn's and {@link undo} leaves it.
   */
  take(): Promise<UnderLockRecord>;
  /**
   * For a turn that does not start after all: puts back the record this one replaced, if it was
   * stored. Does nothing once the turn started with it. Never rejects. A record write that failed
   * is not this one's to undo: the backend takes it back itself should it land late (see
   * `TurnBackend.replaceUnlessRunning`), so a send answered with an error never runs later.
   */
  undo(): Promise<void>;
}

/** A turn claimed from a dead process, as {@link TurnManager.start} continues it. @internal */
export interface ContinuedTurn {
  /** The epoch the claim got: the turn's events are written with it. */
  epoch: number;
  /** What the log holds already. */
  state: ResumedTurnState;
}

/** A check a quiet reader makes now and then: is the process running the turn still there? @internal */
export interface OwnerWatchdog {
  /** How long a reader waits without news before checking. */
  everyMs: number;
  /** Takes the turn over when its process is gone; never rejects. */
  check: () => Promise<unknown>;
}

/** How `/stop` went. */
export type StopOutcome = { status: 'stopped'; turnId: string } | { status: 'no_active_turn' };

/** The shape of the messages on a turn's events channel. */
interface EventsMessage {
  events: readonly RecordedEvent[];
}

/**
 * The turns of one handler: starts them detached from any request, records their events, lets
 * any number of readers on any process replay and follow them, and stops them from anywhere.
 *
 * Readers on the process that runs a turn read its events from memory. Readers elsewhere read
 * the log, then follow the events announced on the turn's bus channel (one message per stored
 * batch), re-reading the log whenever a message is missing. Stop requests travel on the bus to
 * the control channel of the process that runs the turn.
 * @internal
 */
export class TurnManager {
  readonly log: TurnLog;
  readonly #bus: MessageBus;
  readonly #turnTimeoutMs: number;
  readonly #recheckMs: number;
  readonly #logger: Logger | undefined;
  /** Random per process: names this process in the latest-turn records, for stop requests. */
  readonly processId = randomBytes(9).toString('base64url');
  readonly #running = new Map<string, RunningTurn>();
  #control: Promise<() => Promise<void>> | undefined;
  /** Reads the stop marks of long turns, for stop messages the bus lost. */
  readonly #stopMarks: StopMarkPoller;
  /** The control channel is subscribed: a turn need not wait for it. */
  #listening = false;

  constructor(options: TurnManagerOptions) {
    this.log = options.log;
    this.#bus = options.bus;
    this.#turnTimeoutMs = options.turnTimeoutMs;
    this.#recheckMs = options.recheckMs ?? 10_000;
    this.#logger = options.logger;
    this.#stopMarks = new StopMarkPoller({
      everyMs: this.#recheckMs,
      turns: () => this.#running.values(),
      isMarked: (ref) => this.log.isStopRequested(ref),
    });
  }

  /** How long records of a running turn must live. */
  get runningTtlMs(): number {
    return this.#turnTimeoutMs + this.log.retentionMs;
  }

  /**
   * Records a new turn as the conversation's running one while its lock is being requested:
   * called right after asking for the lock with `lock.token`, the record travels in the lock's
   * round trip and is written only if the lock was granted (see
   * `TurnLog.startLatestUnderLock`). Pass the result to {@link start} as `early`; `undefined`
   * when the storage cannot (then `start` records the turn itself).
   */
  recordUnderLock(
    options: { userId: string; conversationId?: string; turnId: string; message?: string },
    lock: { key: string; token: string },
  ): EarlyTurnRecord | undefined {
    if (!this.log.recordsUnderLock) return undefined;
    const { userId, conversationId, turnId, message } = options;
    const startedAt = Date.now();
    const latest = this.#runningRecord(turnId, startedAt, message);
    const runningSince = startedAt - this.#turnTimeoutMs;
    const outcome = this.log.startLatestUnderLock(
      userId,
      conversationId,
      latest,
      this.runningTtlMs,
      runningSince,
      lock,
    );
    outcome.catch(() => {});
    let started = false;
    let undone: Promise<void> | undefined;
    const logger = this.#logger;
    return {
      turnId,
      startedAt,
      take: async () => {
        const result = await outcome;
        if (result.kind === 'recorded') started = true;
        return result;
      },
      undo() {
        if (undone) return undone;
        // A rejected outcome: nothing stored that the backend does not take back (see above).
        undone = outcome.then(
          async (result) => {
            if (result.kind !== 'recorded' || started) return;
            await result.undo().catch(() => {
              logger?.warn?.('could not take back the record of a turn that did not start');
            });
          },
          () => {},
        );
        return undone;
      },
    };
  }

  /**
   * Starts a turn that runs on its own until its end, whoever reads it. Resolves once the turn
   * is registered (so `/stop` and readers on any process find it). The caller holds the
   * conversation's turn lock.
   * @throws UnfinishedTurnError (a new turn) when the conversation's last turn never ended and
   * its process is gone: take that turn over first.
   */
  async start(options: StartTurnOptions): Promise<RunningTurn> {
    // Without the control channel a stop from another process cannot reach this turn, but the
    // turn itself is fine: it runs, and the next turn tries to listen again.
    if (!this.#listening) {
      await this.#listenForControl().catch(() => {
        this.#logger?.warn?.('cannot hear stop requests from other processes yet');
      });
    }
    const ref: TurnRef = {
      userId: options.userId,
      turnId: options.early?.turnId ?? options.turnId ?? TurnLog.newTurnId(),
      ...(options.conversationId ? { conversationId: options.conversationId } : {}),
    };
    const channel = turnEventsChannel(ref.userId, ref.turnId);
    const continued = options.continueFrom;
    const { early } = options;
    const startedAt = continued?.state.startedAt ?? early?.startedAt ?? Date.now();
    const ended: LatestTurn = { turnId: ref.turnId, owner: this.processId, startedAt, ended: true };
    const latest = this.#runningRecord(ref.turnId, startedAt, options.message);
    const turn = new RunningTurn({
      ref,
      log: this.log,
      runningTtlMs: this.runningTtlMs,
      // Every write is fenced: a process paused past its lease cannot write once another took over.
      epoch: continued?.epoch ?? 1,
      ...(options.lease ? { lease: options.lease } : {}),
      ...(continued ? { resumed: continued.state } : {}),
      announce: (events) => {
        // Best effort: a reader elsewhere re-reads the log when it notices the gap. A host's bus
        // that throws instead of rejecting must not stop the turn that announces.
        try {
          this.#bus.publish(channel, JSON.stringify({ events } satisfies EventsMessage)).catch(() => undefined);
        } catch {
          // As above.
        }
      },
      // Marked as ended with its last event, before the lease goes: no reader waits for a turn that is over.
      endedLatest: ended,
      beforeEnd: async () => {
        this.#running.delete(ref.turnId);
        await options.onEnded?.();
      },
      ...(this.#logger ? { logger: this.#logger } : {}),
    });
    this.#running.set(ref.turnId, turn);
    this.#stopMarks.wake();
    try {
      const sent = early && !continued ? await early.take() : undefined;
      if (continued) {
        await this.log.setLatest(ref.userId, options.conversationId, latest, this.runningTtlMs);
      } else if (sent?.kind === 'running') {
        throw new UnfinishedTurnError();
      } else if (sent?.kind !== 'recorded') {
        // Checked and written in one step: the caller holds the conversation's lock, so a turn
        // still recorded as running here lost its process and must be taken over first.
        const runningSince = Date.now() - this.#turnTimeoutMs;
        const recorded = await this.log.startLatest(
          ref.userId,
          options.conversationId,
          latest,
          this.runningTtlMs,
          runningSince,
        );
        if (!recorded) throw new UnfinishedTurnError();
      }
    } catch (error) {
      this.#running.delete(ref.turnId);
      throw error;
    }
    void turn.run(openSource(options.source, turn));
    return turn;
  }

  /** The latest-turn record of a turn this process runs. */
  #runningRecord(turnId: string, startedAt: number, message: string | undefined): LatestTurn {
    return { turnId, owner: this.processId, startedAt, ...(message === undefined ? {} : { message }) };
  }

  /** A turn this process runs, if it still runs. */
  local(turnId: string): RunningTurn | undefined {
    return this.#running.get(turnId);
  }

  /**
   * The turn `ref` names, when this process runs it for that user. A turn id reaches clients
   * (headers, SSE ids) and may leak from there: it names a turn of its own user only, as the
   * stored log, keyed by user, does.
   */
  #runningOf(ref: TurnRef): RunningTurn | undefined {
    const turn = this.#running.get(ref.turnId);
    return turn?.ref.userId === ref.userId ? turn : undefined;
  }

  /**
   * Replays the events of a turn after `afterSeq`, then follows it until its end. Reads memory
   * when this process runs it, else the log and the bus.
   * @throws LlmChatError `RESUME_LOST` (from the iterator) when those events are gone.
   */
  read(ref: TurnRef, afterSeq: number, signal?: AbortSignal, watchdog?: OwnerWatchdog): AsyncIterable<RecordedEvent> {
    const events = this.follow(ref, afterSeq, signal, watchdog);
    return isPushSource(events) ? pullFrom(events, signal) : events;
  }

  /**
   * {@link read} for a reader that can be called back (an SSE stream): a turn this process runs
   * is followed as a push source, its events handed over in the step that records them.
   */
  follow(
    ref: TurnRef,
    afterSeq: number,
    signal?: AbortSignal,
    watchdog?: OwnerWatchdog,
  ): AsyncIterable<RecordedEvent> | PushSource<RecordedEvent> {
    const local = this.#runningOf(ref);
    if (local === undefined) return this.#readRemote(ref, afterSeq, signal, watchdog);
    return local.feed(afterSeq) ?? this.#replayThenFollow(local, ref, afterSeq, signal);
  }

  /**
   * A turn this process runs, for a reader whose first events it no longer keeps: those come
   * from the log (they reached it before they were let go), the rest from memory.
   */
  async *#replayThenFollow(
    turn: RunningTurn,
    ref: TurnRef,
    afterSeq: number,
    signal?: AbortSignal,
  ): AsyncGenerator<RecordedEvent, void> {
    let last = afterSeq;
    for (;;) {
      const feed = turn.feed(last);
      if (feed !== undefined) {
        yield* pullFrom(feed, signal);
        return;
      }
      if (signal?.aborted) return;
      // The log read fails with RESUME_LOST when it lost some of them too (a gap, its bound).
      const stored = await this.log.read(ref, last, 500);
      // Nothing at all: a deleted conversation took the log along.
      if (stored.length === 0) {
        throw new LlmChatError('RESUME_LOST', 'The events of this turn after the given id are no longer retained.');
      }
      for (const event of stored) {
        // From here on memory has them, and shows the last one only once the turn wound down.
        if (event.seq >= turn.firstKeptSeq) break;
        last = event.seq;
        yield event;
        if (TERMINAL_EVENTS.has(event.event)) return;
      }
    }
  }

  /**
   * What a reader after `afterSeq` would find: `follow` (events to replay or still to come),
   * `over` (the turn ended and the reader has seen its end) or `gone` (nothing retained, or
   * `afterSeq` is past the turn's last event).
   */
  async state(ref: TurnRef, afterSeq: number): Promise<'follow' | 'over' | 'gone'> {
    // A reader is shown an event only once the log has it: one past the turn's last event names
    // nothing this turn has, and would wait for events that never come its way.
    const local = this.#runningOf(ref);
    if (local !== undefined) {
      if (afterSeq > local.lastSeq) return 'gone';
      return local.ended && local.lastSeq <= afterSeq ? 'over' : 'follow';
    }
    const last = await this.log.last(ref);
    if (last !== null) {
      if (afterSeq > last.seq) return 'gone';
      return TERMINAL_EVENTS.has(last.event) && last.seq === afterSeq ? 'over' : 'follow';
    }
    // No event yet is also what a turn that is just starting elsewhere looks like.
    const latest = await this.log.getLatest(ref.userId, ref.conversationId);
    const starting =
      latest?.turnId === ref.turnId && latest.ended !== true && Date.now() - latest.startedAt < this.#turnTimeoutMs;
    return starting ? 'follow' : 'gone';
  }

  /**
   * Stops the running turn of a conversation (or the given turn, when it is the one running),
   * on whichever process runs it, and waits (a few seconds at most) until it has ended.
   * `deleting`: its conversation is being deleted, and a turn that runs on past the wait does
   * not save itself (see `fencedHistory`).
   */
  async stop(
    userId: string,
    conversationId: string | undefined,
    turnId?: string,
    options: { deleting?: boolean } = {},
  ): Promise<StopOutcome> {
    const latest = await this.log.getLatest(userId, conversationId);
    if (latest === null || (turnId !== undefined && latest.turnId !== turnId)) return { status: 'no_active_turn' };
    const ref: TurnRef = { userId, turnId: latest.turnId, ...(conversationId ? { conversationId } : {}) };
    const local = this.#running.get(latest.turnId);
    let fromSeq: number;
    if (local !== undefined) {
      fromSeq = local.lastSeq;
      if (!local.stop()) return { status: 'no_active_turn' };
      // Should the turn outlive the wait below, it must not save itself into the deleted
      // conversation. Best effort: the turn is stopped already, and ends within the wait unless
      // something holds it up.
      if (options.deleting === true) await this.log.requestStop(ref, this.runningTtlMs, options).catch(() => undefined);
    } else {
      if (latest.ended) return { status: 'no_active_turn' };
      const last = await this.log.last(ref);
      if (last !== null && TERMINAL_EVENTS.has(last.event)) return { status: 'no_active_turn' };
      fromSeq = last?.seq ?? 0;
      // Marked first: the process running the turn reads the mark should the message below be
      // lost, and if that process is dead, whoever takes the turn over stops it at once.
      await this.log.requestStop(ref, this.runningTtlMs, options);
      // The mark settles the stop should the message not get through (refused, or lost).
      await this.#sendControl(latest.owner, { stop: latest.turnId });
    }
    await this.#waitForEnd(ref, fromSeq);
    return { status: 'stopped', turnId: latest.turnId };
  }

  /** Stops listening for stop requests (on the bus and in storage). Turns still running go on until they end. */
  async close(): Promise<void> {
    const control = this.#control;
    this.#control = undefined;
    this.#listening = false;
    this.#stopMarks.close();
    if (control) await (await control.catch(() => async () => {}))();
  }

  async #waitForEnd(ref: TurnRef, afterSeq: number): Promise<void> {
    const signal = AbortSignal.timeout(STOP_WAIT_MS);
    try {
      for await (const event of this.read(ref, afterSeq, signal)) if (TERMINAL_EVENTS.has(event.event)) return;
    } catch {
      // Stopped is what the caller asked for; whether every event could be read is another matter.
    }
  }

  #listenForControl(): Promise<unknown> {
    if (this.#control !== undefined) return this.#control;
    const control = this.#bus.subscribe(processControlChannel(this.processId), (message) => {
      const parsed = parseControl(message);
      if (parsed === undefined) return;
      const turn = this.#running.get(parsed.turnId);
      if (parsed.kind === 'stop') turn?.stop();
      else turn?.watch();
    });
    this.#control = control;
    control.then(
      () => {
        if (this.#control === control) this.#listening = true;
      },
      // A bus that fails now is retried by the next turn.
      () => {
        if (this.#control === control) this.#control = undefined;
      },
    );
    return control;
  }

  /**
   * Sends a control message to a process. Best effort, never throwing: what it asks is settled
   * from storage should it not get through (a refused publish, a host bus that throws, or a
   * message lost on the way).
   */
  async #sendControl(processId: string, message: { stop: string } | { watch: string }): Promise<void> {
    try {
      await this.#bus.publish(processControlChannel(processId), JSON.stringify(message));
    } catch {
      // As above.
    }
  }

  /**
   * Asks the process that runs the turn to announce its events from now on (it does not for
   * turns nobody follows elsewhere, which saves a PUBLISH per batch). Best effort: a request
   * lost or refused by the bus is made again when the reader next goes quiet.
   */
  async #askToAnnounce(ref: TurnRef): Promise<void> {
    const latest = await this.log.getLatest(ref.userId, ref.conversationId);
    if (latest?.turnId !== ref.turnId || latest.ended === true) return;
    await this.#sendControl(latest.owner, { watch: ref.turnId });
  }

  async *#readRemote(
    ref: TurnRef,
    afterSeq: number,
    signal?: AbortSignal,
    watchdog?: OwnerWatchdog,
  ): AsyncGenerator<RecordedEvent, void> {
    const quietMs = Math.min(this.#recheckMs, watchdog?.everyMs ?? this.#recheckMs);
    const inbox = new Inbox(this.log.maxEvents);
    let wake: (() => void) | undefined;
    const unsubscribe = await this.#bus.subscribe(turnEventsChannel(ref.userId, ref.turnId), (message) => {
      const events = parseEvents(message);
      if (events === undefined) return;
      inbox.push(events);
      wake?.();
    });
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      await this.#askToAnnounce(ref);
      let last = afterSeq;
      let quietSince = Date.now();
      for (;;) {
        // The log first: everything stored so far (the subscription above catches what comes later).
        for (;;) {
          const stored = await this.log.read(ref, last, 500);
          if (stored.length === 0) break;
          quietSince = Date.now();
          for (const event of stored) {
            last = event.seq;
            yield event;
            if (TERMINAL_EVENTS.has(event.event)) return;
          }
        }
        let gap = false;
        while (!gap) {
          while (inbox.length > 0) {
            const events = inbox.shift();
            const first = events[0];
            const newest = events[events.length - 1];
            // An empty message asks for a look at the log (what was stored before we were heard).
            if (first === undefined || newest === undefined) {
              gap = true;
              break;
            }
            if (newest.seq <= last) continue;
            // A message after a lost one: the log has the missing events.
            if (first.seq > last + 1) {
              gap = true;
              break;
            }
            quietSince = Date.now();
            for (const event of events) {
              if (event.seq <= last) continue;
              last = event.seq;
              yield event;
              if (TERMINAL_EVENTS.has(event.event)) return;
            }
          }
          if (gap) break;
          if (signal?.aborted) return;
          if (Date.now() - quietSince > this.#turnTimeoutMs + this.#recheckMs) {
            throw new LlmChatError('TIMEOUT', 'The chat turn stopped sending events.');
          }
          const woken = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), quietMs);
            unrefTimer(timer);
            wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          wake = undefined;
          // No news for a while: is the turn's process still there (else take the turn over
          // here), then re-read the log once in case a message was lost. The request to
          // announce may have been the one lost (the turn would then stream to this reader only
          // in these re-reads), or the turn may have a new owner: asked again.
          if (!woken) {
            await watchdog?.check();
            await this.#askToAnnounce(ref);
            gap = true;
          }
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await unsubscribe().catch(() => {});
    }
  }
}

/**
 * The turn's chat loop. One that throws as it is made fails as a loop that throws at once would:
 * the turn records its error and ends (freeing its registration and its lease), instead of
 * staying registered with no loop to end it.
 */
function openSource(source: StartTurnOptions['source'], turn: RunningTurn): AsyncIterable<ChatEvent> {
  try {
    return source(turn.signal, (text) => turn.pushToken(text));
  } catch (error) {
    return failedSource(error);
  }
}

/** A chat loop whose first step rejects with `error`. */
function failedSource(error: unknown): AsyncIterable<ChatEvent> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
}

/**
 * The bus messages a reader on another process has not taken yet, holding at most `maxEvents`
 * events (the log's bound, as memory holds for readers of the process that runs the turn). A
 * reader further behind loses them all and finds an empty message instead, which sends it back
 * to the log: every announced event is stored there, and a reader the log's bound left behind
 * gets `RESUME_LOST` from it, as a reader of that process would.
 */
class Inbox {
  readonly #messages: RecordedEvent[][] = [];
  readonly #maxEvents: number;
  #events = 0;

  constructor(maxEvents: number) {
    this.#maxEvents = maxEvents;
  }

  get length(): number {
    return this.#messages.length;
  }

  push(events: RecordedEvent[]): void {
    if (this.#events + inboxWeight(events) <= this.#maxEvents) {
      this.#messages.push(events);
      this.#events += inboxWeight(events);
      return;
    }
    // Announced only once stored: the log has them all, and the reader goes there instead.
    this.#messages.length = 0;
    this.#messages.push([]);
    this.#events = inboxWeight([]);
  }

  /** The oldest message; call only while {@link length} is above zero. */
  shift(): RecordedEvent[] {
    const events = this.#messages.shift() as RecordedEvent[];
    this.#events -= inboxWeight(events);
    return events;
  }
}

/** What a message counts against {@link Inbox}'s bound: an empty one too, or they could pile up unbounded. */
function inboxWeight(events: readonly RecordedEvent[]): number {
  return Math.max(1, events.length);
}

/** A message on a process's control channel: stop a turn, or announce its events from now on. */
function parseControl(message: string): { kind: 'stop' | 'watch'; turnId: string } | undefined {
  try {
    const value = JSON.parse(message) as { stop?: unknown; watch?: unknown };
    if (typeof value.stop === 'string') return { kind: 'stop', turnId: value.stop };
    if (typeof value.watch === 'string') return { kind: 'watch', turnId: value.watch };
    return undefined;
  } catch {
    return undefined;
  }
}

/** Events of a bus message, checked enough that a foreign message cannot confuse a reader. */
function parseEvents(message: string): RecordedEvent[] | undefined {
  try {
    const value = JSON.parse(message) as Partial<EventsMessage>;
    if (!Array.isArray(value.events)) return undefined;
    const events = value.events.filter(
      (event): event is RecordedEvent =>
        typeof event === 'object' &&
        event !== null &&
        Number.isSafeInteger(event.seq) &&
        typeof event.event === 'string' &&
        typeof event.data === 'object' &&
        event.data !== null,
    );
    return events.length === value.events.length ? events : undefined;
  } catch {
    return undefined;
  }
}
