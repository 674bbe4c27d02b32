import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';

/** An MCP server of the OAuth unit tests (never contacted). */
export const SERVER = 'https://mcp.example/mcp';
/** Its authorization server. */
export const AUTH = 'https://auth.example/';

/** What discovery of {@link SERVER} found: {@link AUTH}, with its endpoints. */
export const DISCOVERY: OAuthDiscoveryState = {
  authorizationServerUrl: AUTH,
  authorizationServerMetadata: {
    issuer: AUTH,
    authorization_endpoint: `${AUTH}authorize`,
    token_endpoint: `${AUTH}token`,
    registration_endpoint: `${AUTH}register`,
    response_types_supported: ['code'],
  },
};
