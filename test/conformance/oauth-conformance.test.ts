/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`) against the chat
 * handler: for each OAuth client scenario the suite starts its MCP server and authorization
 * server, runs `oauth-driver.ts` (the handler in-process, driven through `/connect`, the browser
 * hop to `/oauth/callback` and `/chat`) and grades every request it saw. The suite needs
 * Node >= 22, fetched by `scripts/ensure-node.sh`; the handler itself runs on that Node there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConformanceBench, conformanceBench } from './run-conformance.js';

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

let bench: ConformanceBench;

beforeAll(async () => {
  bench = await conformanceBench('oauth-driver.ts', 'expected-failures.yml');
}, 150_000);

afterAll(async () => {
  await bench?.close();
});

const runScenario = (scenario: string) => bench.runScenario(scenario);

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
