import { describe, expect, it } from 'vitest';
import { detachedString } from '../../src/internal/detached-string.js';
import { collectGarbage } from '../fixtures/collect-garbage.js';

describe('detachedString', () => {
  it('copies every UTF-16 code unit exactly, lone surrogates, controls and quotes included', () => {
    const texts = [
      '',
      'plain',
      'quote " and backslash \\',
      '\u0000\u001f\u007f',
      '\ud800 lone',
      'pair \ud83d\ude00',
      'x'.repeat(5000),
    ];
    for (const text of texts) {
      const copy = detachedString(text);
      expect(copy).toBe(text);
      expect(copy.length).toBe(text.length);
      expect([...copy].map((c) => c.codePointAt(0))).toEqual([...text].map((c) => c.codePointAt(0)));
    }
  });

  it('does not keep the string it was sliced from alive', async () => {
    await collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const kept: string[] = [];
    for (let index = 0; index < 300; index++) {
      const whole = `${index}:${'data: {"pad":"x"}\n\n'.repeat(4000)}`;
      kept.push(detachedString(whole.slice(0, 200)));
    }
    await collectGarbage();
    // The originals weigh about 300 × 80 KB = 24 MB; the copies, 200 characters each.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4 * 1024 * 1024);
    expect(kept[299]?.startsWith('299:data: ')).toBe(true);
  });
});
