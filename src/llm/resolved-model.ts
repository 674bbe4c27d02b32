import type { ModelConfig } from '../types.js';

/** The `ModelConfig` fields that always have a value once defaults are applied. */
type DefaultedField =
  | 'model'
  | 'name'
  | 'providerName'
  | 'contextWindow'
  | 'supportsStreaming'
  | 'supportsFunctionCalling'
  | 'supportsVision'
  | 'enabled';

/**
 * A `ModelConfig` (src/types.ts) with every default applied. Derived from `ModelConfig`, so a
 * model option added there is carried here without a second list to keep in step.
 */
export type ResolvedModel = Omit<ModelConfig, DefaultedField> & Required<Pick<ModelConfig, DefaultedField>>;
