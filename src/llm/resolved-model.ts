import type { AwsCredentials, ProviderKind } from '../types.js';

/** A `ModelConfig` (src/types.ts) with every default applied. */
export interface ResolvedModel {
  id: string;
  /** The provider's model name. */
  model: string;
  provider: ProviderKind;
  name: string;
  providerName: string;
  contextWindow: number;
  supportsStreaming: boolean;
  supportsFunctionCalling: boolean;
  supportsVision: boolean;
  enabled: boolean;
  baseUrl?: string;
  /** A secret. */
  apiKey?: string;
  apiVersion?: string;
  deployment?: string;
  temperature?: number;
  maxTokens?: number;
  /** Secrets. */
  headers?: Record<string, string>;
  reasoningEffort?: 'minimal' | 'low' | 'medium' | 'high';
  reasoningModel?: boolean;
  thinkingBudgetTokens?: number;
  promptCaching?: boolean;
  projectId?: string;
  spaceId?: string;
  iamUrl?: string;
  /** Bedrock. */
  region?: string;
  /** Bedrock. Secrets. */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /** Vertex. */
  project?: string;
  /** Vertex. */
  location?: string;
  /** Vertex. */
  getAccessToken?: () => Promise<string>;
}
