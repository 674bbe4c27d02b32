/**
 * `mcp-llmchat/otel`: OpenTelemetry traces and metrics of chat turns, through the optional peer
 * `@opentelemetry/api`. Only hosts that import this entry load the API.
 * @packageDocumentation
 */
export { type OpenTelemetryOptions, openTelemetry } from './open-telemetry.js';
