import type { ProviderResponse } from './provider-response.js';
import { readCappedText } from './read-capped-text.js';

/** How much of an error body is read to find the provider's message; the rest is cancelled. */
const MAX_ERROR_BODY_BYTES = 16_384;

/**
 * The JSON of a failed provider response's body, or `undefined` when it is unreadable or not
 * JSON. Only the start of the body counts: the provider's message is near the top.
 * @internal
 */
export async function readErrorBody(response: ProviderResponse): Promise<unknown> {
  let text: string;
  try {
    // A body that never ends must not be read whole (or waited for): cap it and cancel the rest.
    text = await readCappedText(response, MAX_ERROR_BODY_BYTES);
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
