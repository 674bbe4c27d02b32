import { randomUUID } from 'node:crypto';
import { type AskBroker, fingerprintOf } from '../asks/ask-broker.js';
import {
  type ElicitationRequest,
  type ElicitationResult,
  isOpenableElicitationUrl,
} from '../mcp/elicitation-router.js';
import type { ChatEvent } from '../types.js';
import { parseElicitationSchema } from './elicitation-schema.js';

/** What a turn's elicitation relay gets besides the request. */
export interface ElicitContext {
  signal?: AbortSignal;
  /** Sends an event to the turn's readers. */
  emit(event: ChatEvent): void;
}

/** Relays an MCP server's question to the user of a turn, and the answer back. */
export interface Elicitor {
  elicit(request: ElicitationRequest, context: ElicitContext): Promise<ElicitationResult>;
}

/** Options of {@link createElicitationRelay}: one turn's view of the host's settings. */
export interface ElicitationRelayOptions {
  broker: AskBroker;
  userId: string;
  conversationId: string;
  /** False for a non-streaming turn, which cannot ask: every request is cancelled. */
  canAsk: boolean;
  /** How long the user may take; then the request is cancelled. */
  timeoutMs: number;
}

/**
 * The elicitation relay of a turn: sends each `elicitation/create` of a tool call as an
 * `elicitation` event and waits for `POST /elicitation` from any process (content checked there
 * against the form, defaults filled in). No answer in time, a stopped turn, a form the spec does
 * not allow, or a turn that cannot ask: `cancel`. A URL the page must not open: `decline`.
 */
export function createElicitationRelay(options: ElicitationRelayOptions): Elicitor {
  return {
    async elicit(request, context) {
      if (!options.canAsk) return { action: 'cancel' };
      // The router refuses these already; checked again because this is what puts the URL on the page.
      if (request.url !== undefined && !isOpenableElicitationUrl(request.url)) return { action: 'decline' };
      let schema: ReturnType<typeof parseElicitationSchema> | undefined;
      if (request.mode === 'form') {
        try {
          schema = parseElicitationSchema(request.requestedSchema ?? { type: 'object', properties: {} });
        } catch {
          return { action: 'cancel' };
        }
      }
      // Minted here, never the server's `elicitationId`: `POST /elicitation` names no conversation,
      // so the id alone must tell this request from any other of the user's (see AskBroker).
      const id = randomUUID();
      const expiresAt = Date.now() + options.timeoutMs;
      const announce = () =>
        context.emit({
          type: 'elicitation',
          id,
          server: request.server,
          mode: request.mode,
          message: request.message,
          ...(schema ? { requested_schema: { ...schema } } : {}),
          ...(request.url ? { url: request.url } : {}),
          expires_at: new Date(expiresAt).toISOString(),
        });
      const answer = await options.broker.ask<ElicitationResult>(
        {
          kind: 'elicitation',
          id,
          userId: options.userId,
          conversationId: options.conversationId,
          fingerprint: fingerprintOf({ server: request.server, message: request.message, schema, url: request.url }),
          expiresAt,
          ...(schema ? { details: { schema } } : {}),
        },
        { timeoutMs: options.timeoutMs, onAsked: announce, ...(context.signal ? { signal: context.signal } : {}) },
      );
      if (answer === null) return { action: 'cancel' };
      if (answer.action !== 'accept') return { action: answer.action };
      // Content only for a form; a URL-mode accept has none (MCP 2025-11-25).
      return answer.content === undefined ? { action: 'accept' } : { action: 'accept', content: answer.content };
    },
  };
}
