import { describe, expect, it } from 'vitest';
import { isLlmChatError } from '../../src/errors.js';
import { isWellFormedJson } from '../../src/internal/well-formed.js';
import {
  checkMaxContentLength,
  DEFAULT_MAX_CONTENT_LENGTH,
  recordedJson,
  recordedMessages,
  recordedText,
} from '../../src/telemetry/otel/recorded-content.js';

describe('recorded content on spans', () => {
  it('cuts long text to the limit, says how much was cut, and never splits a surrogate pair', () => {
    expect(recordedText('short', 100)).toBe('short');
    const cut = recordedText('a'.repeat(10_000), 200);
    expect(cut.length).toBeLessThanOrEqual(200);
    expect(cut).toMatch(/ … \[9800 characters not recorded\]$/);
    // A string of emoji: the cut lands on a pair's boundary, so no lone surrogate is recorded.
    const emoji = recordedText('😀'.repeat(500), 101);
    expect(isWellFormedJson(emoji)).toBe(true);
    expect(emoji.endsWith('not recorded]')).toBe(true);
  });

  it('keeps JSON parseable: long strings cut, images named not carried, too-long values summarized', () => {
    const withImage = JSON.parse(
      recordedJson(
        { role: 'tool', content: 'x'.repeat(5_000), images: [{ mimeType: 'image/png', data: 'A'.repeat(9_000) }] },
        1_000,
      ),
    );
    expect(withImage.content).toMatch(/characters not recorded\]$/);
    expect(withImage.images).toEqual([{ mimeType: 'image/png', base64_characters: 9_000 }]);

    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, `"quoted" ${i}`]));
    const summarized = recordedJson(many, 1_000);
    expect(summarized.length).toBeLessThanOrEqual(1_000);
    expect(JSON.parse(summarized)).toMatchObject({ truncated: true, characters: JSON.stringify(many).length });
    expect(recordedJson(many, Number.POSITIVE_INFINITY)).toBe(JSON.stringify(many));
  });

  it('stays within the limit with the count of what it left out, for every size of newest message', () => {
    for (const size of [100, 700, 900, 940, 950, 960, 990, 1_000, 5_000]) {
      const text = recordedMessages([{ c: 'a' }, { c: 'b'.repeat(size) }], 1_000);
      expect(text.length, String(size)).toBeLessThanOrEqual(1_000);
      expect(() => JSON.parse(text)).not.toThrow();
    }
  });

  it('keeps the newest messages that fit and counts the older ones left out', () => {
    const messages = Array.from({ length: 50 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `m${i} ${'w'.repeat(90)}`,
    }));
    const text = recordedMessages(messages, 1_000);
    expect(text.length).toBeLessThanOrEqual(1_000);
    const recorded = JSON.parse(text);
    expect(recorded[0]).toEqual({ role: 'system', omitted_messages: 50 - (recorded.length - 1) });
    expect(recorded.at(-1)).toEqual(messages.at(-1));
    expect(recorded.length).toBeGreaterThan(2);
    // One message longer than the limit is still recorded, cut.
    const oneText = recordedMessages([{ role: 'user', content: 'z'.repeat(50_000) }], 1_000);
    expect(oneText.length).toBeLessThanOrEqual(1_000);
    const one = JSON.parse(oneText);
    expect(one).toHaveLength(1);
    expect(one[0].content).toMatch(/characters not recorded\]$/);
    expect(JSON.parse(recordedMessages(messages, Number.POSITIVE_INFINITY))).toEqual(messages);
  });

  it('checks maxContentLength when the observer is made', () => {
    expect(checkMaxContentLength(undefined)).toBe(DEFAULT_MAX_CONTENT_LENGTH);
    expect(checkMaxContentLength(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(checkMaxContentLength(256)).toBe(256);
    for (const bad of [0, -1, 10, 255, 1.5, Number.NaN]) {
      let caught: unknown;
      try {
        checkMaxContentLength(bad);
      } catch (error) {
        caught = error;
      }
      expect(isLlmChatError(caught) && caught.code, String(bad)).toBe('CONFIG_INVALID');
    }
  });
});
