import { LlmChatError } from '../errors.js';
import type { BodyDecoder } from './body-batches.js';
import { loadOptionalPeer } from './load-optional-peer.js';
import { markRetryable } from './provider-retry.js';

/** One decoded message of AWS's `application/vnd.amazon.eventstream` format. */
export interface EventStreamMessage {
  /** `:message-type`: `event`, `exception` or `error`. */
  messageType: string;
  /** `:event-type` of an event, `:exception-type` of an exception, `:error-code` of an error. */
  type: string;
  /** The payload as text (JSON for Bedrock), or `:error-message` of an error. */
  body: string;
}

/** The part of `@smithy/core/event-streams` this module uses. */
export interface EventStreamCodecLike {
  decode(frame: Uint8Array): {
    headers: Record<string, { type: string; value: unknown }>;
    body: Uint8Array;
  };
}

const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;
/** Prelude (total length, headers length, prelude CRC) plus the message CRC. */
const MIN_FRAME_BYTES = 16;

let codecPromise: Promise<EventStreamCodecLike> | undefined;

/** The AWS SDK's own codec, loaded on first use: only hosts with Bedrock models install it. */
export function loadEventStreamCodec(): Promise<EventStreamCodecLike> {
  codecPromise ??= loadOptionalPeer(() => import('@smithy/core/event-streams'), '@smithy/core', 'bedrock').then(
    (module) => {
      const encoder = new TextEncoder();
      const decoder = new TextDecoder();
      return new module.EventStreamCodec(
        (bytes: Uint8Array) => decoder.decode(bytes),
        (text: string) => encoder.encode(text),
      ) as unknown as EventStreamCodecLike;
    },
  );
  // A failed load is not cached: the host may install the package and try again.
  codecPromise.catch(() => {
    codecPromise = undefined;
  });
  return codecPromise;
}

/**
 * Decodes a binary event stream body, each network chunk giving the messages it completes.
 *
 * Frames are cut by their length prefix here and decoded (headers, payload, both CRC32s
 * checked) by `@smithy/core`'s `EventStreamCodec`. A bad checksum, a frame larger than
 * `maxFrameBytes`, or a body that ends mid-frame is a `PROVIDER_ERROR`.
 */
export function eventStreamDecoder(
  codec: EventStreamCodecLike,
  maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
): BodyDecoder<EventStreamMessage> {
  const text = new TextDecoder();
  let buffer: Uint8Array = new Uint8Array(0);
  return {
    decode(chunk) {
      buffer = concat(buffer, chunk);
      const batch: EventStreamMessage[] = [];
      while (buffer.byteLength >= 4) {
        const length = new DataView(buffer.buffer, buffer.byteOffset, 4).getUint32(0, false);
        if (length < MIN_FRAME_BYTES || length > maxFrameBytes)
          throw malformed('The Bedrock stream sent a malformed message.');
        if (buffer.byteLength < length) break;
        const frame = buffer.subarray(0, length);
        buffer = buffer.subarray(length);
        batch.push(toMessage(decodeFrame(codec, frame), text));
      }
      return batch;
    },
    end() {
      // A connection closed mid-frame is a dropped connection: worth another try if nothing was shown.
      if (buffer.byteLength > 0) throw markRetryable(malformed('The Bedrock stream ended in the middle of a message.'));
      return [];
    },
  };
}

function decodeFrame(codec: EventStreamCodecLike, frame: Uint8Array): ReturnType<EventStreamCodecLike['decode']> {
  try {
    return codec.decode(frame);
  } catch (error) {
    // A checksum mismatch: the bytes were damaged on the way.
    throw malformed('The Bedrock stream sent a damaged message.', error);
  }
}

function toMessage(decoded: ReturnType<EventStreamCodecLike['decode']>, decoder: TextDecoder): EventStreamMessage {
  const header = (name: string): string => {
    const value = decoded.headers[name]?.value;
    return typeof value === 'string' ? value : '';
  };
  const messageType = header(':message-type') || 'event';
  if (messageType === 'error') {
    return { messageType, type: header(':error-code'), body: header(':error-message') };
  }
  return {
    messageType,
    type: messageType === 'exception' ? header(':exception-type') : header(':event-type'),
    body: decoder.decode(decoded.body),
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function malformed(message: string, cause?: unknown): LlmChatError {
  return new LlmChatError('PROVIDER_ERROR', message, cause === undefined ? {} : { cause });
}
