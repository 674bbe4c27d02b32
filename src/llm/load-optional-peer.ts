import { LlmChatError } from '../errors.js';

/**
 * Imports an optional peer dependency on first use, so hosts that never pick the provider that
 * needs it never install it. A missing package is a `CONFIG_INVALID` that says what to install.
 */
export async function loadOptionalPeer<T>(load: () => Promise<T>, packageName: string, provider: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw new LlmChatError(
      'CONFIG_INVALID',
      `The '${provider}' provider needs the optional package '${packageName}'; install it next to mcp-llmchat.`,
      { cause: error },
    );
  }
}
