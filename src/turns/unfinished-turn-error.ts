import { LlmChatError } from '../errors.js';

/**
 * A new turn could not start because the conversation's record names a turn that never ended,
 * though no process holds the conversation's lock any more: its process died. To the client it
 * is a `TURN_IN_PROGRESS` (409) like any running turn; the route that meets it takes that turn
 * over first (see `takeOverTurn`), so the conversation goes on.
 * @internal
 */
export class UnfinishedTurnError extends LlmChatError {
  constructor() {
    super('TURN_IN_PROGRESS', 'A chat turn is already running for this user.');
  }
}
