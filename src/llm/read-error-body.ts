/** How much of an error body is read to find the provider's message. */
const MAX_ERROR_BODY_CHARS = 16_384;

/**
 * The JSON of a failed provider response's body, or `undefined` when it is unreadable or not
 * JSON. Only the start of the body counts: the provider's message is near the top.
 * @internal
 */
export async function readErrorBody(response: Response): Promise<unknown> {
  let text: string;
  try {
    text = (await response.text()).slice(0, MAX_ERROR_BODY_CHARS);
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
