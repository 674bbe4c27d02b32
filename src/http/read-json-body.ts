import { isLlmChatError, LlmChatError } from '../errors.js';
import { declaredLength } from './content-length.js';
import { takeNodeRequestBody } from './node-body.js';

/**
 * Reads a request body as JSON, enforcing a size limit while reading (a lying or missing
 * `Content-Length` cannot get past it). An empty body reads as `{}`. The request must say
 * `Content-Type: application/json` (or a `+json` type): anything else, or none, is 415.
 * @internal
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  // Required, even for an empty body: a cross-site form or a Blob POST, which browsers send
  // without a CORS preflight, cannot carry `application/json`.
  const type = request.headers.get('content-type');
  if (type === null || !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type.trim())) {
    throw new LlmChatError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be JSON (Content-Type: application/json).');
  }
  const declared = declaredLength(request.headers.get('content-length')) ?? Number.NaN;
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const nodeBody = takeNodeRequestBody(request);
  const parsed = nodeBody?.parsed;
  // A host parser already made the object: use it as it is, within our limit all the same (a
  // parser with a higher limit of its own would otherwise let a larger body past ours). The size
  // the client declared counts; a body sent without one (chunked) is measured as JSON.
  if (parsed !== undefined && typeof parsed !== 'string' && !(parsed instanceof Uint8Array)) {
    const size = nodeBody?.declaredBytes ?? jsonBytes(parsed);
    if (size > maxBytes) throw tooLarge(maxBytes);
    return parsed;
  }
  const text =
    nodeBody === undefined
      ? Number.isNaN(declared)
        ? await readText(request, maxBytes)
        : await readDeclared(request, maxBytes)
      : parsed === undefined
        ? await nodeBody.read(maxBytes)
        : rawText(parsed, maxBytes);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse errors quote the input; say only what is wrong.
    throw new LlmChatError('VALIDATION_FAILED', 'body: the request body is not valid JSON.', {
      details: { field: 'body' },
    });
  }
}

/** The size of `value` as JSON text; 0 for what has none (a host parser's odd object is judged later). */
function jsonBytes(value: unknown): number {
  try {
    return utf8Length(JSON.stringify(value) ?? '');
  } catch {
    return 0;
  }
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

function rawText(body: string | Uint8Array, maxBytes: number): string {
  const bytes = typeof body === 'string' ? utf8Length(body) : body.byteLength;
  if (bytes > maxBytes) throw tooLarge(maxBytes);
  return typeof body === 'string' ? body : new TextDecoder().decode(body);
}

/**
 * A body whose `Content-Length` is within the limit, read whole with `arrayBuffer()`: hosts
 * answer that without building a web stream (Hono's Node server reads the socket directly; Bun
 * and Deno natively), where a stream reader costs a `ReadableStream` and a full `Request` per
 * request. HTTP framing holds a body from the network to its declared length (HTTP/1.1 reads
 * exactly that many bytes; HTTP/2 fails a stream whose data disagrees with it), and the size is
 * checked again after reading.
 */
async function readDeclared(request: Request, maxBytes: number): Promise<string> {
  let bytes: ArrayBuffer;
  try {
    bytes = await request.arrayBuffer();
  } catch (error) {
    throw new LlmChatError('BAD_REQUEST', 'The request body could not be read.', { cause: error });
  }
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

async function readText(request: Request, maxBytes: number): Promise<string> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (isLlmChatError(error)) throw error;
    throw new LlmChatError('BAD_REQUEST', 'The request body could not be read.', { cause: error });
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(chunks.length === 1 ? chunks[0] : concat(chunks, size));
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

function tooLarge(maxBytes: number): LlmChatError {
  return new LlmChatError('PAYLOAD_TOO_LARGE', `Request body is larger than ${maxBytes} bytes.`);
}
