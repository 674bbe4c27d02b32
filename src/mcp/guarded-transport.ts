import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { EXCHANGE_END_KEY, type ExchangeEndReason, exchangeEndError } from './exchange-end.js';
import type { McpHttpExchanges, RequestId } from './mcp-http-exchanges.js';

/**
 * Sits between the SDK client and an HTTP transport running on {@link McpHttpExchanges}, and
 * makes sure a request whose response is over fails at once instead of at its timeout:
 * - it knows which requests still wait for an answer;
 * - when the SDK cancels a request (timeout, abort), it tears down that request's response;
 * - a made-up closing message from {@link McpHttpExchanges} becomes an error for its request
 *   if that request is still waiting, and is dropped otherwise;
 * - a JSON response that held no answer to its request fails that request.
 * @internal
 */
export class GuardedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;
  private readonly pending = new Set<RequestId>();
  private closing?: Promise<void>;

  constructor(
    /** The SDK transport underneath. */
    readonly inner: Transport,
    private readonly exchanges: McpHttpExchanges,
    private readonly maxMessageBytes: number,
  ) {
    inner.onmessage = (message, extra) => this.receive(message, extra);
    inner.onerror = (error) => this.onerror?.(error);
    inner.onclose = () => {
      this.pending.clear();
      this.onclose?.();
    };
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  /** Closes the transport and tears down every exchange still open. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.inner.close().finally(() => {
      this.pending.clear();
      this.exchanges.close();
    });
    return this.closing;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const id = requestIdOf(message);
    if (id !== undefined) this.pending.add(id);
    const cancelled = cancelledRequestOf(message);
    if (cancelled !== undefined) {
      this.pending.delete(cancelled);
      this.exchanges.cancelRequest(cancelled);
    }
    try {
      await this.inner.send(message, options);
      // A JSON response has been read and delivered by the time send() returns: if it held no
      // answer, none is coming.
      if (id !== undefined && this.exchanges.takeResponseKind(id) === 'json' && this.pending.has(id)) {
        this.fail(id, 'incomplete');
      }
    } catch (error) {
      if (id !== undefined) this.pending.delete(id);
      throw error;
    } finally {
      if (id !== undefined) this.exchanges.takeResponseKind(id);
    }
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    const answered = responseIdOf(message);
    if (answered !== undefined) {
      const reason = madeUpEnd(message);
      if (reason !== undefined) {
        if (this.pending.has(answered)) this.fail(answered, reason);
        return;
      }
      this.pending.delete(answered);
    }
    this.onmessage?.(message, extra);
  }

  private fail(id: RequestId, reason: ExchangeEndReason): void {
    this.pending.delete(id);
    this.onmessage?.(exchangeEndError(id, reason, this.maxMessageBytes));
  }
}

function requestIdOf(message: JSONRPCMessage): RequestId | undefined {
  return 'method' in message && 'id' in message ? message.id : undefined;
}

function responseIdOf(message: JSONRPCMessage): RequestId | undefined {
  if ('method' in message || !('id' in message)) return undefined;
  return 'result' in message || 'error' in message ? message.id : undefined;
}

function cancelledRequestOf(message: JSONRPCMessage): RequestId | undefined {
  if (!('method' in message) || message.method !== 'notifications/cancelled') return undefined;
  const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return typeof requestId === 'string' || typeof requestId === 'number' ? requestId : undefined;
}

function madeUpEnd(message: JSONRPCMessage): ExchangeEndReason | undefined {
  if (!('result' in message)) return undefined;
  const meta = (message.result as { _meta?: Record<string, unknown> } | undefined)?._meta;
  const reason = meta?.[EXCHANGE_END_KEY];
  return reason === 'incomplete' || reason === 'too_large' || reason === 'cancelled' ? reason : undefined;
}
