import type { ProviderResponse } from './provider-response.js';

/**
 * Reads at most `maxBytes` of a response body as UTF-8 text, then cancels the rest: a body that
 * never ends (or is huge) costs `maxBytes` of memory and no more waiting once that much arrived.
 * @internal
 */
export async function readCappedText(response: ProviderResponse, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) return text + decoder.decode();
      const part = value.byteLength > maxBytes - size ? value.subarray(0, maxBytes - size) : value;
      size += part.byteLength;
      text += decoder.decode(part, { stream: true });
    }
    return text + decoder.decode();
  } finally {
    // Frees the socket whether we stopped at the cap or failed mid-way.
    reader.cancel().catch(() => {});
  }
}
