import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const module = fileURLToPath(new URL('../../bench/lib/rss-peak.ts', import.meta.url));

// A child process of its own: it must allocate, free and collect without the test runner's heap
// in the way. It prints the peak before the allocation, with it, after it is freed, and after a reset.
const script = `
import { resetRssPeak, rssPeak } from ${JSON.stringify(module)};
const start = rssPeak();
let block = Buffer.alloc(128 * 1024 * 1024, 1);
const held = rssPeak();
block = undefined;
globalThis.gc();
const freed = rssPeak();
const reset = resetRssPeak();
console.log(JSON.stringify({ start, held, freed, reset, after: rssPeak(), rss: process.memoryUsage().rss }));
`;

describe.skipIf(process.platform !== 'linux')('the bench reads the kernel’s RSS peak', () => {
  it('keeps a peak that sampling after the fact would miss, and starts a new one on reset', () => {
    const output = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    const { start, held, freed, reset, after, rss } = JSON.parse(output) as Record<string, number | boolean>;
    const MB = 1024 * 1024;
    // The 128 MB block raised the peak, and freeing it does not lower the peak (the kernel's
    // counters are kept per thread and folded in lazily: a few pages either way).
    expect((held as number) - (start as number)).toBeGreaterThan(100 * MB);
    expect(freed as number).toBeGreaterThan((held as number) - 4 * MB);
    // After the reset the peak is today's RSS, far below the block's.
    expect(reset).toBe(true);
    expect(after as number).toBeLessThan((held as number) - 100 * MB);
    expect(after as number).toBeGreaterThanOrEqual((rss as number) - 8 * MB);
  });
});
