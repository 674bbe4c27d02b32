/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`) against the chat
 * handler, for the client elicitation scenario: the suite starts its MCP server, whose tool asks
 * for a form whose fields all have defaults, and runs `elicitation-driver.ts` (the handler
 * in-process, driven through `/connect`, `/chat` and `POST /elicitation` with `accept` and no
 * content); the suite then grades what the server received. The suite needs Node >= 22, fetched
 * by `scripts/ensure-node.sh`; the handler itself runs on that Node there.
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

/** Every client scenario of the suite about elicitation (2025-11-25). */
const SCENARIOS = ['elicitation-sep1034-client-defaults'];

/** The checks that scenario makes: one per type of default (string, integer, number, enum, boolean). */
const DEFAULT_CHECKS = ['string', 'integer', 'number', 'enum', 'boolean'].map(
  (kind) => `client-elicitation-sep1034-${kind}-default`,
);

let node22 = '';
let outputDir = '';

beforeAll(async () => {
  node22 = (await run(join(root, 'scripts/ensure-node.sh'), ['22'], { timeout: 120_000 })).stdout.trim();
  outputDir = await mkdtemp(join(tmpdir(), 'llmchat-elicitation-conformance-'));
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
  const dir = join(outputDir, scenario);
  const args = [
    join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js'),
    'client',
    '--command',
    [...driver, join(root, 'test/conformance/elicitation-driver.ts')].join(' '),
    '--scenario',
    scenario,
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
  const found = (await readdir(dir, { recursive: true })).find((path) => path.endsWith('checks.json'));
  if (found === undefined) throw new Error(`the suite wrote no results:\n${output}`);
  const resultDir = join(dir, found, '..');
  const checks = JSON.parse(await readFile(join(resultDir, 'checks.json'), 'utf8')) as Check[];
  const driverLog = await readFile(join(resultDir, 'stderr.txt'), 'utf8');
  return { exitCode, output, checks, driverLog };
}

describe('MCP conformance: elicitation client scenarios through the HTTP handler', () => {
  for (const scenario of SCENARIOS) {
    it(scenario, async () => {
      const { exitCode, output, checks, driverLog } = await runScenario(scenario);
      const failed = checks.filter((check) => check.status === 'FAILURE' || check.status === 'WARNING');
      expect(failed, `${output}\n--- driver ---\n${driverLog}`).toEqual([]);
      expect(exitCode, output).toBe(0);
      const passed = checks.filter((check) => check.status === 'SUCCESS').map((check) => check.id);
      expect(passed).toEqual(expect.arrayContaining(DEFAULT_CHECKS));
      // The answer went through the route a chat page uses, and the turn ran to its end.
      expect(driverLog).toMatch(/elicitation 200 \{"status":"accept"/);
      expect(driverLog).toMatch(/chat 200 tool_start,elicitation,tool_end,.*final/);
    }, 120_000);
  }
});
