import { describe, expect, it } from 'vitest';
import { parseStreamJson } from '../../src/llm/parse-stream-json.js';
import { parseToolArguments } from '../../src/llm/parse-tool-arguments.js';

// What a provider sends is not ours to repeat: a proxy may echo a request's key into its stream.
const ECHO = 'Bearer sk-ECHOED-SECRET';

function thrown(run: () => unknown): Error & { cause?: unknown } {
  try {
    run();
  } catch (error) {
    return error as Error & { cause?: unknown };
  }
  throw new Error('did not throw');
}

describe('errors about what a provider sent', () => {
  it('repeat none of its text, in the message or in a cause', () => {
    for (const error of [
      thrown(() => parseStreamJson(ECHO, 'OpenAI')),
      thrown(() => parseToolArguments(ECHO, 'OpenAI', 'search')),
    ]) {
      expect(error).toMatchObject({ code: 'PROVIDER_ERROR' });
      expect(`${error.message} ${String(error.cause)}`).not.toContain('sk-ECHOED');
      expect(error.cause).toBeUndefined();
    }
  });

  it('show only the start of a tool name the model made up', () => {
    const error = thrown(() => parseToolArguments('[1]', 'OpenAI', `t${'x'.repeat(100_000)}`));
    expect(error.message.length).toBeLessThan(200);
    expect(error.message).toContain(`t${'x'.repeat(63)}…`);
  });
});
