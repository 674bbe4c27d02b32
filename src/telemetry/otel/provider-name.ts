// The `gen_ai.provider.name` values of the semantic conventions, where one exists.
const WELL_KNOWN: Readonly<Record<string, string>> = {
  openai: 'openai',
  azure_openai: 'azure.ai.openai',
  anthropic: 'anthropic',
  bedrock: 'aws.bedrock',
  google: 'gcp.gemini',
  vertex: 'gcp.vertex_ai',
  watsonx: 'ibm.watsonx.ai',
  cohere: 'cohere',
};

/**
 * `gen_ai.provider.name` of a provider kind: the conventions' value when they define one, else
 * the kind itself (`ollama`, `openai_compatible`).
 * @internal
 */
export function providerName(kind: string): string {
  return WELL_KNOWN[kind] ?? kind;
}
