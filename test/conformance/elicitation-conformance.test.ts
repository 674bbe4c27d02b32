/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`) against the chat
 * handler, for the client elicitation scenario: the suite starts its MCP server, whose tool asks
 * for a form whose fields all have defaults, and runs `elicitation-driver.ts` (the handler
 * in-process, driven through `/connect`, `/chat` and `POST /elicitation` with `accept` and no
 * content); the suite then grades what the server received. The suite needs Node >= 22, fetched
 * by `scripts/ensure-node.sh`; the handler itself runs on that Node there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConformanceBench, conformanceBench } from './run-conformance.js';

/** Every client scenario of the suite about elicitation (2025-11-25). */
const SCENARIOS = ['elicitation-sep1034-client-defaults'];

/** The checks that scenario makes: one per type of default (string, integer, number, enum, boolean). */
const DEFAULT_CHECKS = ['string', 'integer', 'number', 'enum', 'boolean'].map(
  (kind) => `client-elicitation-sep1034-${kind}-default`,
);

let bench: ConformanceBench;

beforeAll(async () => {
  bench = await conformanceBench('elicitation-driver.ts');
}, 150_000);

afterAll(async () => {
  await bench?.close();
});

const runScenario = (scenario: string) => bench.runScenario(scenario);

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
