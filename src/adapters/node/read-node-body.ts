import type { IncomingMessage } from 'node:http';
import { LlmChatError } from '../../errors.js';

/**
 * Reads a Node request body as UTF-8 text, stopping as soon as it passes `maxBytes` (a lying or
 * missing `Content-Length` cannot get past the limit). The Node bridge hands this to the handler
 * so request bodies never go through a web stream.
 */
export function readNodeBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  if (req.readableEnded) return Promise.resolve('');
  // The client left before anyone read the body (while an async `authenticate` ran, say): `close`
  // and `error` have fired already, so listening for them would wait forever.
  if (req.destroyed || req.errored) return Promise.reject(unreadable(req.errored ?? undefined));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // The rest is left unread; the bridge answers with `Connection: close`.
        req.pause();
        reject(new LlmChatError('PAYLOAD_TOO_LARGE', `Request body is larger than ${maxBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks, size).toString('utf8'),
      );
    };
    const onError = (error: Error) => {
      cleanup();
      reject(unreadable(error));
    };
    const onClose = () => {
      if (req.readableEnded) return;
      cleanup();
      reject(unreadable());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function unreadable(cause?: Error): LlmChatError {
  return new LlmChatError('BAD_REQUEST', 'The request body could not be read.', { cause });
}
