/**
 * How connecting to one MCP server grows with the number of tools it lists (issue 10, class 6):
 * the time should grow linearly. Run with `npx tsx bench/mcp-tool-listing.ts`; it prints one
 * line per size (median of 3 connects, cap raised so every tool is kept).
 */
import { McpToolbox } from '../src/mcp/mcp-toolbox.js';
import { startHostileMcpServer } from '../test/fixtures/hostile-mcp-server.js';

const SIZES = [1_000, 10_000, 20_000, 40_000];
const ROUNDS = 3;

async function main(): Promise<void> {
  const lines: string[] = ['| tools | connect + list (median ms) | µs per tool |', '|---:|---:|---:|'];
  for (const size of SIZES) {
    const server = await startHostileMcpServer({ tools: size });
    const times: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const started = performance.now();
      const toolbox = await McpToolbox.connect([{ url: server.url }], {
        maxToolsPerServer: size,
        maxMessageBytes: 64 * 1024 * 1024,
        connectTimeoutMs: 120_000,
      });
      times.push(performance.now() - started);
      if (toolbox.listTools().length !== size) throw new Error(`listed ${toolbox.listTools().length} of ${size}`);
      await toolbox.close();
    }
    await server.close();
    const median = [...times].sort((a, b) => a - b)[Math.floor(ROUNDS / 2)] as number;
    lines.push(`| ${size} | ${median.toFixed(0)} | ${((median * 1000) / size).toFixed(1)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
