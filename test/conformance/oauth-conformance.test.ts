/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`) against the chat
 * handler: for each OAuth client scenario the suite starts its MCP server and authorization
 * server, runs `oauth-driver.ts` (the handler in-process, driven through `/connect`, the browser
 * hop to `/oauth/callback` and `/chat`) and grades every request it saw. The suite needs
 * Node >= 22, fetched by `scripts/ensure-node.sh`; the handler itself runs on that Node there.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every client scenario of the 2025-11-25 auth suite, and the client-credentials extension. */
const SCENARIOS = [
  'auth/metadata-default',
  'auth/metadata-var1',
  'auth/metadata-var2',
  'auth/metadata-var3',
  'auth/basic-cimd',
  'auth/scope-from-www-authenticate',
  'auth/scope-from-scopes-supported',
  'auth/scope-omitted-when-undefined',
  'auth/scope-step-up',
  'auth/scope-retry-limit',
  'auth/token-endpoint-auth-basic',
  'auth/token-endpoint-auth-post',
  'auth/token-endpoint-auth-none',
  'auth/pre-registration',
  'auth/client-credentials-basic',
  'auth/client-credentials-jwt',
];

let node22 = '';
let outputDir = '';

beforeAll(async () => {
  node22 = (await run(join(root, 'scripts/ensure-node.sh'), ['22'], { timeout: 120_000 })).stdout.trim();
  outputDir = await mkdtemp(join(tmpdir(), 'llmchat-conformance-'));
}, 150_000);

afterAll(async () => {
  if (outputDir) await rm(outputDir, { recursive: true, force: true });
});

interface Check {
  id: string;
  status: string;
  description: string;
}

async function runScenario(scenario: string) {
  const driver = [node22, join(root, 'node_modules/tsx/dist/cli.mjs'), '--tsconfig', join(root, 'tsconfig.json')];
  const dir = join(outputDir, scenario.replace('/', '_'));
  const args = [
    join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js'),
    'client',
    '--command',
    [...driver, join(root, 'test/conformance/oauth-driver.ts')].join(' '),
    '--scenario',
    scenario,
    '--expected-failures',
    join(root, 'test/conformance/expected-failures.yml'),
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
  // The suite writes <dir>/<scenario>-<timestamp>/, and the scenario name holds a slash.
  const found = (await readdir(dir, { recursive: true })).find((path) => path.endsWith('checks.json'));
  if (found === undefined) throw new Error(`the suite wrote no results:\n${output}`);
  const resultDir = join(dir, found, '..');
  const checks = JSON.parse(await readFile(join(resultDir, 'checks.json'), 'utf8')) as Check[];
  const driverLog = await readFile(join(resultDir, 'stderr.txt'), 'utf8');
  return { exitCode, output, checks, driverLog };
}

describe('MCP conformance: OAuth client scenarios through the HTTP handler', () => {
  for (const scenario of SCENARIOS) {
    it(scenario, async () => {
      const { exitCode, output, checks, driverLog } = await runScenario(scenario);
      const failed = checks.filter((check) => check.status === 'FAILURE' || check.status === 'WARNING');
      expect(failed, `${output}\n--- driver ---\n${driverLog}`).toEqual([]);
      expect(exitCode, output).toBe(0);
      expect(checks.some((check) => check.status === 'SUCCESS')).toBe(true);
      if (scenario === 'auth/scope-step-up') {
        // The step-up came mid-turn: the chat ended with MCP_AUTHORIZATION_REQUIRED, the user
        // authorized again, and the next chat ran the tool.
        expect(driverLog).toMatch(
          /chat 200 .*error MCP_AUTHORIZATION_REQUIRED\ncallback 200\nchat 200 .*tool_end.*final/,
        );
      }
      if (scenario === 'auth/scope-retry-limit') {
        // The library stops sending the user back to the consent page, instead of looping.
        expect(driverLog).toContain('connect 503 MCP_UNAVAILABLE');
      }
    }, 120_000);
  }
});
