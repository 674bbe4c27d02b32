import { createHash } from 'node:crypto';
import type { MessageBus } from '../bus/message-bus.js';
import { LlmChatError } from '../errors.js';
import { unrefTimer } from '../internal/unref-timer.js';
import type { SessionBackend, StoredValue } from '../session/session-backend.js';
import { askAnswerKey, askKey, conversationKey, userHashTag } from '../session/session-keys.js';

/** The two kinds of question a turn can ask its user. */
export type AskKind = 'approval' | 'elicitation';

/** A question waiting for its answer, as stored: bound to its user, conversation and content. */
export interface PendingAsk {
  kind: AskKind;
  /** The call id (approval) or the elicitation id. */
  id: string;
  userId: string;
  conversationId: string;
  /** A digest of what was asked (the call's exact input, the form's schema), so an answer cannot be moved to another question. */
  fingerprint: string;
  /** When the question stops waiting, ms since the epoch. */
  expiresAt: number;
  /** Facts the answering side needs (for example the form's schema to validate against). */
  details?: Record<string, unknown>;
}

/** Options of {@link AskBroker.ask}. */
export interface AskOptions {
  /** How long to wait for an answer. */
  timeoutMs: number;
  /** Ends the wait early (the turn was stopped). */
  signal?: AbortSignal;
  /**
   * Called once the question is stored, so it can be answered: the place to tell the user.
   * Announcing it any earlier lets a quick client answer a question that does not exist yet (404).
   */
  onAsked?: () => void;
}

// A turn that missed the bus message (Redis pub/sub is at most once) still finds the answer
// here; it looks at this pace, and once more when its wait ends.
const RECHECK_MS = 2_000;
const ANSWER_TTL_MS = 60_000;

/** A digest of `value` in a stable key order, to bind an answer to exactly what was asked. */
export function fingerprintOf(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('base64url');
}

/**
 * Questions a running turn asks its user, answered from any process: the turn stores the
 * question (bound to user, conversation and content) and waits on the storage's bus; an answer
 * posted to any process takes the question (once: a second answer finds nothing), stores the
 * answer and announces it. Waiting costs nothing but a subscription.
 */
export class AskBroker {
  readonly #store: SessionBackend;
  readonly #bus: MessageBus;

  constructor(store: SessionBackend, bus: MessageBus) {
    this.#store = store;
    this.#bus = bus;
  }

  /** The storage the questions live in (also where a turn keeps what the user allowed for good). */
  get store(): SessionBackend {
    return this.#store;
  }

  /**
   * Stores `pending` and waits for its answer. Resolves with the answer, or `null` when none came
   * in time or the wait was aborted (the question is then withdrawn, so a late answer is a 404).
   */
  async ask<TAnswer>(pending: PendingAsk, options: AskOptions): Promise<TAnswer | null> {
    const { key, answerKey, channel } = placeOf(pending);
    let settle!: (answer: TAnswer | null) => void;
    const answered = new Promise<TAnswer | null>((resolve) => {
      settle = resolve;
    });
    const accept = (raw: string | null) => {
      if (raw === null) return;
      try {
        const delivered = JSON.parse(raw) as { fingerprint?: unknown; answer?: TAnswer };
        // An answer to another question under the same id (a reused call id, another input) is ignored.
        if (delivered.fingerprint === pending.fingerprint && delivered.answer !== undefined) settle(delivered.answer);
      } catch {
        // A corrupt answer is no answer; the wait goes on to its end.
      }
    };
    // Subscribed before the question exists, so no answer can come before anyone listens.
    const unsubscribe = await this.#bus.subscribe(channel, accept);
    const recheck = setInterval(() => {
      this.#store.get(answerKey).then(accept, () => {});
    }, RECHECK_MS);
    unrefTimer(recheck);
    const timeout = setTimeout(() => {
      this.#store.get(answerKey).then(
        (raw) => {
          accept(raw);
          settle(null);
        },
        () => settle(null),
      );
    }, options.timeoutMs);
    unrefTimer(timeout);
    const onAbort = () => settle(null);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (options.signal?.aborted) return null;
      await this.#store.set(key, JSON.stringify(pending), options.timeoutMs);
      options.onAsked?.();
      return await answered;
    } finally {
      clearInterval(recheck);
      clearTimeout(timeout);
      options.signal?.removeEventListener('abort', onAbort);
      // Withdrawn: an answer arriving now finds nothing to take.
      await Promise.allSettled([this.#store.delete([key, answerKey]), unsubscribe()]);
    }
  }

  /**
   * Answers a question from any process. `check` sees the stored question and returns the
   * answer to deliver (or throws, e.g. a 422 for content that does not fit, leaving the question
   * open for a corrected answer). The question is checked before it is taken, so an answer that
   * does not fit never uses it up, and taken once, so of two answers racing only one counts.
   * An approval's answer must name its conversation (call ids repeat across conversations).
   * Resolves `null` when the question is unknown, expired, already answered, or belongs to
   * another user or conversation (the caller answers 404 with {@link askNotFound}).
   */
  async answer<TAnswer>(
    userId: string,
    kind: AskKind,
    id: string,
    conversationId: string | undefined,
    check: (pending: PendingAsk) => TAnswer,
  ): Promise<{ pending: PendingAsk; answer: TAnswer } | null> {
    if (CONVERSATION_SCOPED[kind] && conversationId === undefined) return null;
    const { key, answerKey, channel } = placeOf({ userId, kind, id, conversationId: conversationId ?? '' });
    const raw = await this.#store.get(key);
    if (raw === null) return null;
    const pending = parsePending(raw);
    if (pending === undefined || !answers(pending, { userId, kind, id, conversationId })) return null;
    const answer = check(pending);
    const text = JSON.stringify({ fingerprint: pending.fingerprint, answer });
    if (!(await this.#takeAndAnswer(key, raw, { key: answerKey, value: text, ttlMs: ANSWER_TTL_MS }))) return null;
    await this.#bus.publish(channel, text).catch(() => {});
    return { pending, answer };
  }

  /**
   * Takes the question at `key` if it is still the one checked (`raw`) and stores the answer.
   * Another question found there (the turn withdrew the checked one and asked again under the
   * same id in between) stays, unanswered: the answer was checked against a question that no
   * longer waits. Where the backend can, both happen in one step: an answer whose reply was lost
   * (a timeout, then a 404 for the retry) still reaches the turn, which reads it from the store.
   */
  async #takeAndAnswer(key: string, raw: string, answer: StoredValue): Promise<boolean> {
    if (this.#store.takeIfEqual !== undefined) return this.#store.takeIfEqual(key, raw, answer);
    if (!(await this.#takeIfUnchanged(key, raw))) return false;
    await this.#store.set(answer.key, answer.value, answer.ttlMs);
    return true;
  }

  /** {@link #takeAndAnswer}'s take for a backend without `takeIfEqual`: put back what was not ours. */
  async #takeIfUnchanged(key: string, raw: string): Promise<boolean> {
    const taken = await this.#take(key);
    if (taken === raw) return true;
    const other = taken === null ? undefined : parsePending(taken);
    const ttl = other === undefined ? 0 : other.expiresAt - Date.now();
    if (taken !== null && ttl > 0) await this.#store.set(key, taken, ttl);
    return false;
  }

  async #take(key: string): Promise<string | null> {
    if (this.#store.take !== undefined) return this.#store.take(key);
    const raw = await this.#store.get(key);
    if (raw !== null) await this.#store.delete([key]);
    return raw;
  }
}

/**
 * Whether a question's answers name its conversation. Approvals do (`POST /approve` carries
 * `conversation_id`), and must: their ids come from the model's provider, which may number them
 * `call_0`, `call_1`… in every turn, so two conversations of one user can ask under the same id.
 * An elicitation's answer names none, so its id is minted per request by the relay instead.
 */
const CONVERSATION_SCOPED: Record<AskKind, boolean> = { approval: true, elicitation: false };

/** Where a question and its answer are stored, and the channel its answer is announced on. */
function placeOf(scope: Pick<PendingAsk, 'userId' | 'kind' | 'id' | 'conversationId'>): {
  key: string;
  answerKey: string;
  channel: string;
} {
  const { userId, kind, id } = scope;
  if (!CONVERSATION_SCOPED[kind]) {
    return {
      key: askKey(userId, kind, id),
      answerKey: askAnswerKey(userId, kind, id),
      channel: `ask:${userHashTag(userId)}:${kind}:${encodeURIComponent(id)}`,
    };
  }
  const conversation = encodeURIComponent(scope.conversationId);
  return {
    key: conversationKey(userId, scope.conversationId, `ask:${kind}:${encodeURIComponent(id)}`),
    answerKey: conversationKey(userId, scope.conversationId, `answer:${kind}:${encodeURIComponent(id)}`),
    channel: `ask:${userHashTag(userId)}:c:${conversation}:${kind}:${encodeURIComponent(id)}`,
  };
}

/** Whether the stored question is the one an answer names, and still waits. */
function answers(
  pending: PendingAsk,
  named: { userId: string; kind: AskKind; id: string; conversationId: string | undefined },
): boolean {
  return (
    pending.userId === named.userId &&
    pending.kind === named.kind &&
    pending.id === named.id &&
    pending.expiresAt > Date.now() &&
    (named.conversationId === undefined || pending.conversationId === named.conversationId)
  );
}

function parsePending(raw: string): PendingAsk | undefined {
  try {
    const value = JSON.parse(raw) as PendingAsk;
    if (typeof value?.id !== 'string' || typeof value.userId !== 'string' || typeof value.expiresAt !== 'number') {
      return undefined;
    }
    return value;
  } catch {
    return undefined;
  }
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${stableJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Raised by routes when an answer names no open question (unknown, expired, used, or not the caller's). @internal */
export function askNotFound(kind: AskKind): LlmChatError {
  return kind === 'approval'
    ? new LlmChatError('APPROVAL_NOT_FOUND', 'No pending approval with this id.')
    : new LlmChatError('ELICITATION_NOT_FOUND', 'No pending elicitation with this id.');
}
