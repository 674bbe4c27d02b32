import type { ModelConfig } from 'mcp-llmchat';

/** The environment variables the demo reads to pick its models. */
export interface DemoEnv {
  OPENAI_API_KEY?: string;
  OPENAI_MODEL?: string;
  OPENAI_BASE_URL?: string;
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_MODEL?: string;
  ANTHROPIC_BASE_URL?: string;
  [name: string]: string | undefined;
}

/** Id of the built-in scripted model, as the models endpoint lists it. */
export const SCRIPTED_MODEL_ID = 'demo-scripted';

/**
 * The real models the environment configures, in the order the picker shows them:
 *
 * - `OPENAI_API_KEY` → an `openai` model named by `OPENAI_MODEL` (default `gpt-4o-mini`). With
 *   `OPENAI_BASE_URL` it becomes `openai_compatible` at that API root, which also covers a local
 *   Ollama (`http://127.0.0.1:11434/v1`, where the key may be left out).
 * - `ANTHROPIC_API_KEY` → an `anthropic` model named by `ANTHROPIC_MODEL` (default
 *   `claude-sonnet-4-5`), at `ANTHROPIC_BASE_URL` if set.
 *
 * An empty list means: run the scripted model.
 */
export function demoModelsFromEnv(env: DemoEnv): ModelConfig[] {
  const models: ModelConfig[] = [];
  const openaiKey = nonEmpty(env.OPENAI_API_KEY);
  const openaiBase = nonEmpty(env.OPENAI_BASE_URL);
  if (openaiKey || openaiBase) {
    const model = nonEmpty(env.OPENAI_MODEL) ?? 'gpt-4o-mini';
    models.push(
      openaiBase
        ? {
            id: model,
            provider: 'openai_compatible',
            baseUrl: openaiBase,
            ...(openaiKey ? { apiKey: openaiKey } : {}),
            providerName: `OpenAI-compatible (${hostOf(openaiBase)})`,
          }
        : { id: model, provider: 'openai', apiKey: openaiKey, providerName: 'OpenAI' },
    );
  }
  const anthropicKey = nonEmpty(env.ANTHROPIC_API_KEY);
  if (anthropicKey) {
    const model = nonEmpty(env.ANTHROPIC_MODEL) ?? 'claude-sonnet-4-5';
    const baseUrl = nonEmpty(env.ANTHROPIC_BASE_URL);
    models.push({
      id: models.some((m) => m.id === model) ? `anthropic-${model}` : model,
      model,
      provider: 'anthropic',
      apiKey: anthropicKey,
      ...(baseUrl ? { baseUrl } : {}),
      providerName: 'Anthropic',
    });
  }
  return models;
}

/** The scripted model's entry, pointing at the demo's own scripted server. */
export function scriptedModelConfig(baseUrl: string): ModelConfig {
  return {
    id: SCRIPTED_MODEL_ID,
    provider: 'openai_compatible',
    baseUrl,
    name: 'Scripted demo model',
    providerName: 'Built-in, no AI',
    contextWindow: 32_000,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function hostOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).host;
  } catch {
    throw new Error(`OPENAI_BASE_URL is not a URL: ${baseUrl}`);
  }
}
