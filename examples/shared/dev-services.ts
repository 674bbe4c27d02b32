import type { McpServerConfig, ModelConfig } from 'mcp-llmchat';
import { startDemoMcpServer } from '../../demo/demo-mcp-server.js';
import { demoModelsFromEnv, scriptedModelConfig } from '../../demo/demo-models.js';
import { startScriptedModel } from '../../demo/scripted-model.js';

/** What an example needs besides its web framework: an MCP server to connect to and models to offer. */
export interface DevServices {
  /** The MCP server clients connect to by default. */
  mcpServer: McpServerConfig;
  /** The models clients may pick. */
  models: ModelConfig[];
  /** Environment to hand to child processes so they reuse these services instead of starting their own. */
  sharedEnv: Record<string, string>;
  /** Stops whatever this call started (nothing when everything came from the environment). */
  close(): Promise<void>;
}

/**
 * Starts the stand-ins a real app would already have, so each example runs with no setup:
 *
 * - the MCP server at `MCP_URL`, or else the demo MCP server (calculator, time, units, notes) on loopback;
 * - the real models that `OPENAI_API_KEY` / `ANTHROPIC_API_KEY` (and friends, see demo/demo-models.ts)
 *   configure, or else the scripted demo model: simple rules, no AI, no key. `SCRIPTED_MODEL_URL`
 *   points at a scripted model another process already runs.
 *
 * @example
 * const services = await startDevServices();
 * const handler = createChatHandler({ authenticate, models: services.models, mcp: { defaultServer: services.mcpServer } });
 */
export async function startDevServices(env: NodeJS.ProcessEnv = process.env): Promise<DevServices> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const stop of closers.reverse()) await stop().catch(() => {});
  };
  try {
    let mcpUrl = env.MCP_URL?.trim();
    if (!mcpUrl) {
      const mcp = await startDemoMcpServer();
      closers.push(() => mcp.close());
      mcpUrl = mcp.url;
    }
    const sharedEnv: Record<string, string> = { MCP_URL: mcpUrl };

    let models = demoModelsFromEnv(env);
    if (models.length === 0) {
      let baseUrl = env.SCRIPTED_MODEL_URL?.trim();
      if (!baseUrl) {
        const scripted = await startScriptedModel();
        closers.push(() => scripted.close());
        baseUrl = scripted.baseUrl;
      }
      sharedEnv.SCRIPTED_MODEL_URL = baseUrl;
      models = [scriptedModelConfig(baseUrl)];
    }
    return { mcpServer: { url: mcpUrl }, models, sharedEnv, close };
  } catch (error) {
    await close();
    throw error;
  }
}
