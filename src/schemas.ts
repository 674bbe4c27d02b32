/**
 * Request bodies of the HTTP routes (CONTRACT.md §3), as lenient as the upstream gateway: unknown
 * keys are dropped, optional fields accept `null`, and defaults fill what old clients leave out.
 * Every string has a length bound so a hostile body cannot make later steps expensive.
 */
import { z } from 'zod';
import { conversationIdSchema } from './conversations/conversation-id.js';
import { LlmChatError } from './errors.js';
import { isSendableHeaderValue } from './internal/header-value.js';

/** Longest accepted `user_id`. Real ids are emails or UUIDs; this only stops abuse. */
const MAX_USER_ID_CHARS = 512;
/** Longest accepted model id. */
const MAX_MODEL_CHARS = 200;
/** Longest accepted server URL, as in the gateway's URL validator. */
const MAX_URL_CHARS = 2048;
/** Longest accepted bearer token for the MCP server. */
const MAX_AUTH_TOKEN_CHARS = 8192;
/** Longest accepted chat message: the default body limit (1 MiB) in characters. */
const MAX_MESSAGE_CHARS = 1_048_576;
/** Highest accepted `max_tokens`. */
const MAX_OUTPUT_TOKENS = 1_000_000;

const userId = z.string().max(MAX_USER_ID_CHARS).nullish();

// A token no HTTP client can send is the client's mistake (422), not an MCP server that is down
// (503); refused here, it never reaches the HTTP client, whose error would quote it.
const HEADER_VALUE_REASON = 'must not contain line breaks, control characters or characters beyond Latin-1';

const streaming = z.boolean().default(false);

/**
 * Body of `POST /connect`: which MCP server to use and which model to talk to.
 * `server.transport` defaults to `streamable_http`, `streaming` to `false`.
 */
export const connectBodySchema = z.object({
  user_id: userId,
  server: z
    .object({
      url: z.string().max(MAX_URL_CHARS).nullish(),
      transport: z.enum(['streamable_http', 'sse', 'stdio']).default('streamable_http'),
      auth_token: z.string().max(MAX_AUTH_TOKEN_CHARS).refine(isSendableHeaderValue, HEADER_VALUE_REASON).nullish(),
    })
    .nullish(),
  llm: z.object({
    model: z.string().trim().min(1).max(MAX_MODEL_CHARS),
    temperature: z.number().min(0).max(2).nullish(),
    max_tokens: z.number().int().positive().max(MAX_OUTPUT_TOKENS).nullish(),
  }),
  streaming,
});

/**
 * Body of `POST /chat`. A blank `message` passes here on purpose: the route answers it with the
 * gateway's own 400 `Message cannot be empty`, while a non-string message is a 422.
 */
export const chatBodySchema = z.object({
  user_id: userId,
  message: z.string().max(MAX_MESSAGE_CHARS),
  streaming,
  /** Which of the user's conversations; absent or null means the default one (§6). */
  conversation_id: conversationIdSchema.nullish(),
});

/** Body of `POST /disconnect`. Callers treat a missing body as `{}` before parsing. */
export const disconnectBodySchema = z.object({
  user_id: userId,
});

/** A parsed `POST /connect` body. */
export type ConnectBody = z.output<typeof connectBodySchema>;
/** A parsed `POST /chat` body. */
export type ChatBody = z.output<typeof chatBodySchema>;
/** A parsed `POST /disconnect` body. */
export type DisconnectBody = z.output<typeof disconnectBodySchema>;

/**
 * Validates a decoded JSON body against a schema and returns the cleaned value (unknown keys
 * dropped, defaults applied).
 *
 * The error names the first failing field by its dotted path (`llm.temperature: must be at most
 * 2`). It never repeats the received value, which could be huge or a secret.
 *
 * @throws {LlmChatError} `VALIDATION_FAILED` (HTTP 422) with `details.field` set to that path, or
 *   to `body` when the body itself is not an object.
 * @example
 * const body = parseBody(chatBodySchema, await request.json());
 */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown): T {
  // No reportInput: the ZodError kept as `cause` then holds no part of the (possibly secret) body.
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.map(String).join('.');
  const reason = issue === undefined ? 'is invalid' : describeIssue(issue, value);
  throw new LlmChatError('VALIDATION_FAILED', `${field}: ${reason}`, { details: { field }, cause: result.error });
}

/** A short, human reason for one zod issue, without the offending value. */
function describeIssue(issue: z.core.$ZodIssue, body: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (isMissing(body, issue.path)) return 'is required';
      return `expected ${article(issue.expected)}`;
    case 'too_small':
      if (issue.origin === 'string') {
        return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      }
      return issue.inclusive ? `must be at least ${issue.minimum}` : `must be greater than ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return issue.inclusive ? `must be at most ${issue.maximum}` : `must be less than ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((option) => JSON.stringify(option)).join(', ')}`;
    case 'custom':
    case 'invalid_format':
      // Our own refinements' and patterns' reasons, and zod's format reasons ("Invalid string:
      // must match pattern …"): none quotes the value.
      return issue.message;
    default:
      return 'is invalid';
  }
}

/** True when the last key of `path` is absent from its parent object (own keys only). */
function isMissing(body: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return false;
  let parent: unknown = body;
  for (let index = 0; index < path.length - 1; index++) {
    if (typeof parent !== 'object' || parent === null) return false;
    parent = (parent as Record<PropertyKey, unknown>)[path[index] as PropertyKey];
  }
  if (typeof parent !== 'object' || parent === null) return false;
  const last = path[path.length - 1] as PropertyKey;
  return !Object.hasOwn(parent, last) || (parent as Record<PropertyKey, unknown>)[last] === undefined;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
};

function article(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}
