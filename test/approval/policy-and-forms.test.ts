import { describe, expect, it } from 'vitest';
import {
  annotationsRequireApproval,
  assertToolApprovalRule,
  decideToolCall,
  type ToolCallForApproval,
} from '../../src/approval/approval-policy.js';
import { parseElicitationSchema, validateElicitationContent } from '../../src/elicitation/elicitation-schema.js';
import { isLlmChatError } from '../../src/errors.js';

const call = (overrides: Partial<ToolCallForApproval> = {}): ToolCallForApproval => ({
  userId: 'ann',
  conversationId: 'default',
  server: 'notes',
  tool: 'delete_note',
  input: { id: 7 },
  annotations: {},
  trusted: false,
  ...overrides,
});

function detailOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return isLlmChatError(error) ? `${error.code} ${error.message}` : String(error);
  }
  return 'no error';
}

describe('tool approval rules', () => {
  it('never, always, and a function of the call (user, server, tool, input, annotations)', async () => {
    expect(await decideToolCall('never', call())).toBe('allow');
    expect(await decideToolCall('always', call({ annotations: { readOnlyHint: true }, trusted: true }))).toBe('ask');
    const seen: ToolCallForApproval[] = [];
    const rule = (c: ToolCallForApproval) => {
      seen.push(c);
      if (c.tool === 'delete_note') return c.input.id === 1 ? 'deny' : 'ask';
      return 'allow';
    };
    expect(await decideToolCall(rule, call({ input: { id: 1 } }))).toBe('deny');
    expect(await decideToolCall(rule, call())).toBe('ask');
    expect(await decideToolCall(rule, call({ tool: 'search' }))).toBe('allow');
    expect(seen[0]).toMatchObject({ userId: 'ann', server: 'notes', tool: 'delete_note', input: { id: 1 } });
  });

  it("lets an untrusted server's annotations add a need for approval but never waive one", async () => {
    // A hostile server claims a destructive tool is read-only: still asked.
    expect(await decideToolCall('annotations', call({ annotations: { readOnlyHint: true } }))).toBe('ask');
    expect(annotationsRequireApproval({ destructiveHint: false, openWorldHint: false }, false)).toBe(true);
    expect(annotationsRequireApproval({}, false)).toBe(true);
    // A trusted server's hints are believed, with the MCP defaults for what it leaves out.
    expect(annotationsRequireApproval({ readOnlyHint: true }, true)).toBe(false);
    expect(annotationsRequireApproval({ destructiveHint: false, openWorldHint: false }, true)).toBe(false);
    expect(annotationsRequireApproval({ destructiveHint: false }, true)).toBe(true);
    expect(annotationsRequireApproval({ destructiveHint: true, readOnlyHint: false }, true)).toBe(true);
  });

  it('denies when the host rule throws, and refuses a rule that answers nonsense', async () => {
    expect(
      await decideToolCall(() => {
        throw new Error('boom');
      }, call()),
    ).toBe('deny');
    await expect(decideToolCall(() => 'yes' as never, call())).rejects.toSatisfy(
      (error) => isLlmChatError(error) && error.code === 'CONFIG_INVALID',
    );
    expect(detailOf(() => assertToolApprovalRule('sometimes'))).toMatch(/^CONFIG_INVALID/);
    expect(detailOf(() => assertToolApprovalRule('annotations'))).toBe('no error');
  });
});

describe('elicitation forms', () => {
  const schema = parseElicitationSchema({
    type: 'object',
    properties: {
      units: { type: 'string', enum: ['metric', 'imperial'], default: 'metric' },
      name: { type: 'string', minLength: 2, maxLength: 10 },
      age: { type: 'integer', minimum: 0, maximum: 150 },
      email: { type: 'string', format: 'email' },
      subscribe: { type: 'boolean', default: false },
    },
    required: ['name'],
  });

  it('accepts fitting content and fills in defaults the user left out', () => {
    expect(validateElicitationContent(schema, { name: 'Ann', age: 40 })).toEqual({
      units: 'metric',
      name: 'Ann',
      age: 40,
      subscribe: false,
    });
  });

  it('names the field that does not fit', () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'content.name: is required'],
      [{ name: 'A' }, 'content.name: must have at least 2 characters'],
      [{ name: 'Ann', age: 1.5 }, 'content.age: expected an integer'],
      [{ name: 'Ann', age: -1 }, 'content.age: must be at least 0'],
      [{ name: 'Ann', units: 'cubits' }, 'content.units: must be one of "metric", "imperial"'],
      [{ name: 'Ann', email: 'nope' }, 'content.email: must be a valid email'],
      [{ name: 'Ann', subscribe: 'yes' }, 'content.subscribe: expected a boolean'],
      [{ name: 'Ann', extra: 1 }, 'content.extra: is not a field of the form'],
      [[1], 'content: must be an object'],
    ];
    for (const [content, detail] of cases) {
      expect(detailOf(() => validateElicitationContent(schema, content))).toBe(`VALIDATION_FAILED ${detail}`);
    }
  });

  it('reads only the fields the answer has, whatever their names', () => {
    const named = parseElicitationSchema({
      type: 'object',
      properties: { constructor: { type: 'string' }, toString: { type: 'string', default: 'x' } },
    });
    // Left out, `constructor` is not the inherited function; `toString` takes its default.
    expect(validateElicitationContent(named, {})).toEqual({ toString: 'x' });
    expect(validateElicitationContent(named, { constructor: 'c' })).toEqual({ constructor: 'c', toString: 'x' });
    expect(
      detailOf(() =>
        parseElicitationSchema(JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}')),
      ),
    ).toMatch(/must not name a field __proto__/);
  });

  it('bounds a choice to 500 options, and an error names ten of them', () => {
    const options = Array.from({ length: 500 }, (_, i) => `option-${i}`);
    const choice = parseElicitationSchema({ type: 'object', properties: { pick: { type: 'string', enum: options } } });
    const detail = detailOf(() => validateElicitationContent(choice, { pick: 'none' }));
    expect(detail).toMatch(/"option-9" \(and 490 more\)$/);
    expect(detail.length).toBeLessThan(300);
    const huge = { type: 'object', properties: { pick: { type: 'string', enum: [...options, 'one more'] } } };
    expect(detailOf(() => parseElicitationSchema(huge))).toMatch(/at most 500 options/);
  });

  it('takes only real calendar dates and RFC 3339 date-times', () => {
    const dated = parseElicitationSchema({
      type: 'object',
      properties: { day: { type: 'string', format: 'date' }, at: { type: 'string', format: 'date-time' } },
    });
    expect(validateElicitationContent(dated, { day: '2024-02-29', at: '2024-02-29T10:00:00.5+01:00' })).toEqual({
      day: '2024-02-29',
      at: '2024-02-29T10:00:00.5+01:00',
    });
    for (const day of ['2023-02-29', '2023-02-30', '2023-13-01']) {
      expect(detailOf(() => validateElicitationContent(dated, { day }))).toMatch(/content.day: must be a valid date/);
    }
    for (const at of ['Thu Jan 01 1970', '2024-02-29T10:00', '2023-02-30T10:00:00Z', '1970-01-01T00:00:00']) {
      expect(detailOf(() => validateElicitationContent(dated, { at }))).toMatch(
        /content.at: must be a valid date-time/,
      );
    }
  });

  it("refuses a server's schema that is not a flat form of primitives", () => {
    expect(detailOf(() => parseElicitationSchema({ type: 'array' }))).toMatch(
      /requested_schema: must be an object schema/,
    );
    expect(
      detailOf(() => parseElicitationSchema({ type: 'object', properties: { a: { type: 'object', properties: {} } } })),
    ).toMatch(/requested_schema.properties.a/);
    expect(detailOf(() => parseElicitationSchema({ type: 'object', properties: {}, required: ['ghost'] }))).toMatch(
      /requested_schema.required/,
    );
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, { type: 'string' }]));
    expect(detailOf(() => parseElicitationSchema({ type: 'object', properties: many }))).toMatch(/at most 50 fields/);
  });
});
