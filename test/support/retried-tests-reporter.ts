import { relative } from 'node:path';
import type { Reporter, TestCase } from 'vitest/node';

/**
 * Lists, at the end of a run, every test that passed only when run again (CI retries a failed
 * integration test once, see vitest.config.ts): a retry must never hide that a test is flaky.
 */
export default class RetriedTestsReporter implements Reporter {
  readonly #retried: string[] = [];

  onTestCaseResult(testCase: TestCase): void {
    const retries = testCase.diagnostic()?.retryCount ?? 0;
    if (retries === 0 || testCase.result().state !== 'passed') return;
    this.#retried.push(
      `${relative(process.cwd(), testCase.module.moduleId)} > ${testCase.fullName} (run ${retries + 1} times)`,
    );
  }

  onTestRunEnd(): void {
    if (this.#retried.length === 0) return;
    process.stdout.write(`\nPassed only when run again (flaky, needs its own fix):\n  ${this.#retried.join('\n  ')}\n`);
  }
}
