import { LlmChatError } from '../errors.js';
import type { AwsCredentials } from '../types.js';
import { loadOptionalPeer } from './load-optional-peer.js';
import type { ProviderHttpRequest } from './provider-http.js';

/** Where a Bedrock provider gets its credentials: fixed ones, or a host function called per request. */
export type AwsCredentialSource = AwsCredentials | (() => Promise<AwsCredentials>);

/** Signing keys kept at most (a key is one secret, day, region and service). */
const MAX_SIGNING_KEYS = 8;

/**
 * The signing keys a provider derived (`aws4fetch`'s cache): a key is four HMACs through
 * WebCrypto, each an async trip to the thread pool, and stays the same for a whole day. Keyed by
 * the secret itself, so it belongs to the provider that holds the credentials, and it is bounded
 * (temporary credentials rotate).
 * @internal
 */
export class SigningKeyCache {
  readonly #keys = new Map<string, ArrayBuffer>();

  /** The map `aws4fetch` reads and fills; emptied first once it holds {@link MAX_SIGNING_KEYS}. */
  forSigner(): Map<string, ArrayBuffer> {
    if (this.#keys.size >= MAX_SIGNING_KEYS) this.#keys.clear();
    return this.#keys;
  }
}

let signerModule: Promise<typeof import('aws4fetch')> | undefined;

/** `aws4fetch`, imported once: a dynamic import per request costs a loader round trip. */
function loadSigner(): Promise<typeof import('aws4fetch')> {
  signerModule ??= loadOptionalPeer(() => import('aws4fetch'), 'aws4fetch', 'bedrock');
  // A failed load is not kept: the host may install the package and try again.
  signerModule.catch(() => {
    signerModule = undefined;
  });
  return signerModule;
}

/**
 * Signs a Bedrock runtime request with AWS Signature Version 4 (service `bedrock`) and returns
 * the headers to send: `authorization`, `x-amz-date`, and `x-amz-security-token` for temporary
 * credentials. Signing uses `aws4fetch` (WebCrypto, no AWS SDK), loaded on first use.
 *
 * Credentials come only from `source`, never from the environment. Credentials that are missing
 * or not strings are `PROVIDER_AUTH`, without repeating them.
 */
export async function signBedrockRequest(
  request: ProviderHttpRequest,
  source: AwsCredentialSource,
  region: string,
  keys?: SigningKeyCache,
): Promise<Record<string, string>> {
  const { AwsV4Signer } = await loadSigner();
  const credentials = typeof source === 'function' ? await source() : source;
  if (
    typeof credentials !== 'object' ||
    credentials === null ||
    typeof credentials.accessKeyId !== 'string' ||
    credentials.accessKeyId === '' ||
    typeof credentials.secretAccessKey !== 'string' ||
    credentials.secretAccessKey === '' ||
    (credentials.sessionToken !== undefined && typeof credentials.sessionToken !== 'string')
  ) {
    throw new LlmChatError('PROVIDER_AUTH', 'The Bedrock credentials are missing an access key id or secret.', {
      details: { provider: 'bedrock' },
    });
  }
  const signer = new AwsV4Signer({
    method: 'POST',
    url: request.url,
    headers: request.headers,
    body: request.body,
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    service: 'bedrock',
    region,
    ...(keys ? { cache: keys.forSigner() } : {}),
  });
  const signed = await signer.sign();
  const headers: Record<string, string> = {};
  signed.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return headers;
}
