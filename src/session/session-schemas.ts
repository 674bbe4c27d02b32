import { z } from 'zod';

// Loose objects: a record written by a newer version of the library, with extra fields, still
// reads; the fields this version relies on are checked.
const stringRecord = z.record(z.string(), z.string());

const mcpServerConfigSchema = z.looseObject({
  name: z.string().optional(),
  url: z.string().optional(),
  transport: z.enum(['streamable_http', 'sse', 'stdio']).optional(),
  authToken: z.string().optional(),
  headers: stringRecord.optional(),
  command: z.string().optional(),
  args: z.array(z.string()).optional(),
  env: stringRecord.optional(),
});

/** Validates a `SessionConfig` (see src/types.ts). @internal */
export const sessionConfigSchema = z.looseObject({
  servers: z.array(mcpServerConfigSchema),
  model: z.string().min(1),
  temperature: z.number().optional(),
  maxTokens: z.number().optional(),
  streaming: z.boolean(),
});

/** Validates one tool remembered at connect: what the LLM request and the approval rules need. @internal */
export const storedToolSchema = z.object({
  name: z.string().min(1),
  server: z.number().int().min(0),
  originalName: z.string().min(1).optional(),
  description: z.string().optional(),
  inputSchema: z.record(z.string(), z.unknown()),
  annotations: z.record(z.string(), z.unknown()).optional(),
});

/** A list of stored tools, as a record or a shared list (`toolListKey`) holds it. @internal */
export const storedToolListSchema = z.array(storedToolSchema);

/** Validates the stored session record. `sealed` says the config's secrets are encrypted. @internal */
export const sessionRecordSchema = z.object({
  v: z.literal(1),
  userId: z.string(),
  version: z.string().min(1),
  createdAt: z.string(),
  sealed: z.boolean(),
  config: sessionConfigSchema,
  /**
   * The tools listed at connect, in the record itself: what versions before shared tool lists
   * wrote, and what a connect writes when the shared list could not be stored.
   */
  tools: storedToolListSchema.optional(),
  /** The tools listed at connect, stored once for every session that lists the same (`toolListKey`). */
  toolList: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
});

const toolCallSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  arguments: z.record(z.string(), z.unknown()),
});

// Signed reasoning blocks go back to the provider byte for byte, so both kinds are checked whole.
const thinkingBlockSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('thinking'), thinking: z.string(), signature: z.string() }),
  z.object({ type: z.literal('redacted_thinking'), data: z.string() }),
]);

const transcriptMessageSchema = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('user'), content: z.string() }),
  z.looseObject({
    role: z.literal('assistant'),
    content: z.string(),
    toolCalls: z.array(toolCallSchema).optional(),
    interrupted: z.boolean().optional(),
    thinking: z.array(thinkingBlockSchema).optional(),
    reasoning: z.string().optional(),
  }),
  z.looseObject({
    role: z.literal('tool'),
    toolCallId: z.string(),
    name: z.string(),
    content: z.string(),
    isError: z.boolean().optional(),
    images: z.array(z.looseObject({ data: z.string(), mimeType: z.string() })).optional(),
  }),
]);

/** Validates one stored history entry: the messages of one turn. @internal */
export const transcriptTurnSchema = z.array(transcriptMessageSchema);
