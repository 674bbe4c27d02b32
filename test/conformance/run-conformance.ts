/**
 * Runs one client scenario of the official MCP conformance suite (`@modelcontextprotocol/conformance`)
 * against a driver of ours, and reads back what the suite graded. The suite needs Node >= 22,
 * fetched by `scripts/ensure-node.sh`; the driver (the handler in-process) runs on that Node too.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/** One check the suite graded. */
export interface ConformanceCheck {
  id: string;
  status: string;
  description: string;
}

/** What a scenario run left: the suite's exit code and output, its checks, the driver's log. */
export interface ConformanceRun {
  exitCode: number;
  output: string;
  checks: ConformanceCheck[];
  driverLog: string;
}

/** A Node 22 binary and a scratch folder for the suite's results, made once per test file. */
export interface ConformanceBench {
  runScenario(scenario: string): Promise<ConformanceRun>;
  close(): Promise<void>;
}

/**
 * Prepares runs of `driver` (a file under `test/conformance/`), with an optional
 * expected-failures file (also under `test/conformance/`).
 */
export async function conformanceBench(driver: string, expectedFailures?: string): Promise<ConformanceBench> {
  const node22 = (await run(join(root, 'scripts/ensure-node.sh'), ['22'], { timeout: 120_000 })).stdout.trim();
  const outputDir = await mkdtemp(join(tmpdir(), 'llmchat-conformance-'));
  const command = [node22, join(root, 'node_modules/tsx/dist/cli.mjs'), '--tsconfig', join(root, 'tsconfig.json')];
  return {
    async runScenario(scenario) {
      const dir = join(outputDir, scenario.replace('/', '_'));
      const args = [
        join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js'),
        'client',
        '--command',
        [...command, join(root, 'test/conformance', driver)].join(' '),
        '--scenario',
        scenario,
        ...(expectedFailures ? ['--expected-failures', join(root, 'test/conformance', expectedFailures)] : []),
        '--timeout',
        '45000',
        '-o',
        dir,
      ];
      let exitCode = 0;
      let output = '';
      try {
        const result = await run(node22, args, { cwd: outputDir, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 });
        output = result.stdout + result.stderr;
      } catch (error) {
        const failed = error as { code?: number; stdout?: string; stderr?: string };
        exitCode = failed.code ?? 1;
        output = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
      }
      // The suite writes <dir>/<scenario>-<timestamp>/ (a scenario name may hold a slash).
      const found = (await readdir(dir, { recursive: true })).find((path) => path.endsWith('checks.json'));
      if (found === undefined) throw new Error(`the suite wrote no results:\n${output}`);
      const resultDir = join(dir, found, '..');
      const checks = JSON.parse(await readFile(join(resultDir, 'checks.json'), 'utf8')) as ConformanceCheck[];
      const driverLog = await readFile(join(resultDir, 'stderr.txt'), 'utf8');
      return { exitCode, output, checks, driverLog };
    },
    close: () => rm(outputDir, { recursive: true, force: true }),
  };
}
