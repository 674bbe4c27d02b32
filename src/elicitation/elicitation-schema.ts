import { LlmChatError } from '../errors.js';

/** One field of an elicitation form: the spec's restricted JSON Schema (primitives and enums). */
export interface ElicitationField {
  type: 'string' | 'number' | 'integer' | 'boolean';
  title?: string;
  description?: string;
  enum?: readonly (string | number)[];
  enumNames?: readonly string[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  format?: 'email' | 'uri' | 'date' | 'date-time';
  default?: unknown;
}

/** The `requestedSchema` of a form-mode `elicitation/create`: a flat object of primitive fields. */
export interface ElicitationSchema {
  type: 'object';
  properties: Record<string, ElicitationField>;
  required?: readonly string[];
}

const FIELD_TYPES = new Set(['string', 'number', 'integer', 'boolean']);
const FORMATS = new Set(['email', 'uri', 'date', 'date-time']);
/** A form a person fills in; more fields than this is not a form but an attack on the page. */
const MAX_FIELDS = 50;
/** Options of one choice: a person picks from a list, not from a megabyte of them. */
const MAX_ENUM_OPTIONS = 500;
/** Options an error names before it says how many more there are. */
const OPTIONS_NAMED = 10;
/** RFC 3339's date-time, which the spec's `date-time` format means (seconds and an offset required). */
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Checks that a server's `requestedSchema` is what the MCP spec allows for a form (an object of
 * primitive, optionally enumerated fields). The schema comes from an MCP server, so it is
 * untrusted: anything else is refused before a user ever sees it.
 * @throws LlmChatError `VALIDATION_FAILED`
 */
export function parseElicitationSchema(value: unknown): ElicitationSchema {
  const schema = value as Partial<ElicitationSchema> | null;
  if (schema === null || typeof schema !== 'object' || schema.type !== 'object') {
    throw invalid('requested_schema', 'must be an object schema');
  }
  const properties = schema.properties ?? {};
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    throw invalid('requested_schema.properties', 'must be an object');
  }
  const names = Object.keys(properties);
  if (names.length > MAX_FIELDS) throw invalid('requested_schema.properties', `must have at most ${MAX_FIELDS} fields`);
  for (const name of names) {
    // JSON gives `__proto__` as an own key, but no object of the answer's way through keeps it:
    // such a field could never be answered.
    if (name === '__proto__') throw invalid('requested_schema.properties', 'must not name a field __proto__');
    const field = (properties as Record<string, unknown>)[name] as Partial<ElicitationField> | null;
    if (field === null || typeof field !== 'object' || !FIELD_TYPES.has(String(field.type))) {
      throw invalid(`requested_schema.properties.${name}`, 'must be a string, number, integer or boolean field');
    }
    checkKeywords(`requested_schema.properties.${name}`, field as ElicitationField);
  }
  const required = schema.required ?? [];
  if (!Array.isArray(required) || !required.every((name) => typeof name === 'string' && names.includes(name))) {
    throw invalid('requested_schema.required', 'must list fields of the schema');
  }
  return { type: 'object', properties: properties as Record<string, ElicitationField>, required };
}

/**
 * Validates what the user submitted against the schema and fills in defaults for fields the user
 * left out (the spec lets a server rely on them). Unknown fields are refused, not passed on.
 * @throws LlmChatError `VALIDATION_FAILED` whose detail names the field, e.g. `content.age: must be at least 0`.
 */
export function validateElicitationContent(schema: ElicitationSchema, content: unknown): Record<string, unknown> {
  if (content !== undefined && (content === null || typeof content !== 'object' || Array.isArray(content))) {
    throw invalid('content', 'must be an object');
  }
  const given = (content ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(schema.properties, name)) throw invalid(`content.${name}`, 'is not a field of the form');
  }
  const result: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.properties)) {
    // Own fields only: a field named like something every object inherits (`constructor`) is
    // left out when the user left it out.
    let value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value === undefined && field.default !== undefined) value = field.default;
    if (value === undefined) {
      if (schema.required?.includes(name)) throw invalid(`content.${name}`, 'is required');
      continue;
    }
    checkField(`content.${name}`, field, value);
    result[name] = value;
  }
  return result;
}

function checkField(path: string, field: ElicitationField, value: unknown): void {
  switch (field.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(path, 'expected a boolean');
      break;
    case 'string':
      if (typeof value !== 'string') throw invalid(path, 'expected a string');
      if (field.minLength !== undefined && value.length < field.minLength) {
        throw invalid(path, `must have at least ${field.minLength} characters`);
      }
      if (field.maxLength !== undefined && value.length > field.maxLength) {
        throw invalid(path, `must have at most ${field.maxLength} characters`);
      }
      if (field.format !== undefined && !matchesFormat(field.format, value))
        throw invalid(path, `must be a valid ${field.format}`);
      break;
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path, 'expected a number');
      if (field.type === 'integer' && !Number.isInteger(value)) throw invalid(path, 'expected an integer');
      if (field.minimum !== undefined && value < field.minimum)
        throw invalid(path, `must be at least ${field.minimum}`);
      if (field.maximum !== undefined && value > field.maximum) throw invalid(path, `must be at most ${field.maximum}`);
      break;
  }
  if (field.enum !== undefined && !field.enum.includes(value as string | number)) {
    throw invalid(path, `must be one of ${optionsOf(field.enum)}`);
  }
}

/**
 * Checks the keywords of one field: validation trusts their types (an `enum` that is a string
 * would match substrings, a `minimum` that is a string would compare as text), and the page
 * renders them. A default must itself fit the field, or leaving the field out could never pass.
 */
function checkKeywords(path: string, field: ElicitationField): void {
  for (const keyword of ['title', 'description'] as const) {
    if (field[keyword] !== undefined && typeof field[keyword] !== 'string') {
      throw invalid(`${path}.${keyword}`, 'must be a string');
    }
  }
  for (const keyword of ['minLength', 'maxLength'] as const) {
    const value = field[keyword];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      throw invalid(`${path}.${keyword}`, 'must be a non-negative integer');
    }
  }
  for (const keyword of ['minimum', 'maximum'] as const) {
    const value = field[keyword];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) {
      throw invalid(`${path}.${keyword}`, 'must be a number');
    }
  }
  if (field.format !== undefined && !FORMATS.has(field.format)) {
    throw invalid(`${path}.format`, 'must be one of email, uri, date, date-time');
  }
  checkEnum(path, field);
  if (field.default !== undefined) checkField(`${path}.default`, field, field.default);
}

/** `enum`: a non-empty array of values of the field's type; `enumNames`: one string per value. */
function checkEnum(path: string, field: ElicitationField): void {
  if (field.enum === undefined) {
    if (field.enumNames !== undefined) throw invalid(`${path}.enumNames`, 'needs an enum');
    return;
  }
  if (field.type === 'boolean') throw invalid(`${path}.enum`, 'is not allowed on a boolean field');
  const fits = (option: unknown) =>
    field.type === 'string'
      ? typeof option === 'string'
      : typeof option === 'number' && Number.isFinite(option) && (field.type === 'number' || Number.isInteger(option));
  if (Array.isArray(field.enum) && field.enum.length > MAX_ENUM_OPTIONS) {
    throw invalid(`${path}.enum`, `must have at most ${MAX_ENUM_OPTIONS} options`);
  }
  if (!Array.isArray(field.enum) || field.enum.length === 0 || !field.enum.every(fits)) {
    throw invalid(
      `${path}.enum`,
      `must be a non-empty array of ${field.type === 'string' ? 'strings' : `${field.type}s`}`,
    );
  }
  const names = field.enumNames;
  if (
    names !== undefined &&
    !(Array.isArray(names) && names.length === field.enum.length && names.every((item) => typeof item === 'string'))
  ) {
    throw invalid(`${path}.enumNames`, 'must be an array of strings, one per enum value');
  }
}

function matchesFormat(format: NonNullable<ElicitationField['format']>, value: string): boolean {
  switch (format) {
    case 'email':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
    case 'uri':
      return URL.canParse(value);
    case 'date':
      return isCalendarDate(value);
    case 'date-time': {
      const date = DATE_TIME.exec(value)?.[1];
      return date !== undefined && isCalendarDate(date) && Number.isFinite(Date.parse(value));
    }
  }
}

/** `YYYY-MM-DD` naming a day that exists (`Date.parse` takes `2023-02-30` for March 2nd). */
function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return Number.isFinite(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
}

/** The options of an enum as an error names them: the first few, then how many more. */
function optionsOf(options: readonly (string | number)[]): string {
  const named = options.slice(0, OPTIONS_NAMED).map((option) => JSON.stringify(option));
  const more = options.length - named.length;
  return more > 0 ? `${named.join(', ')} (and ${more} more)` : named.join(', ');
}

function invalid(field: string, reason: string): LlmChatError {
  return new LlmChatError('VALIDATION_FAILED', `${field}: ${reason}`, { details: { field } });
}
