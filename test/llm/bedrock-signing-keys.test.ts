import { afterEach, expect, it, vi } from 'vitest';
import { SigningKeyCache, signBedrockRequest } from '../../src/llm/bedrock-signer.js';

// A SigV4 signing key takes four HMACs through WebCrypto and holds for a day: a provider derives
// it once, not on every request, and signs the same as without the cache.
const request = {
  url: 'https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude/converse-stream',
  headers: { 'content-type': 'application/json' },
  body: '{"messages":[]}',
};
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

afterEach(() => {
  vi.restoreAllMocks();
});

it('derives the signing key once per provider and signs exactly as without the cache', async () => {
  const keys = new SigningKeyCache();
  const importKey = vi.spyOn(crypto.subtle, 'importKey');
  await signBedrockRequest(request, credentials, 'us-east-1', keys);
  // Five keys the first time (four to derive the signing key, one to sign).
  expect(importKey.mock.calls.length).toBe(5);
  for (;;) {
    importKey.mockClear();
    const cached = await signBedrockRequest(request, credentials, 'us-east-1', keys);
    // One now: the signing key is the cached one.
    expect(importKey.mock.calls.length).toBe(1);
    const fresh = await signBedrockRequest(request, credentials, 'us-east-1');
    // Signed in the same second, both carry the same date: then the signatures must match.
    if (cached['x-amz-date'] !== fresh['x-amz-date']) continue;
    expect(cached.authorization).toBe(fresh.authorization);
    break;
  }
});

it('keeps a bounded number of signing keys (rotating credentials do not pile up)', async () => {
  const keys = new SigningKeyCache();
  for (let i = 0; i < 20; i++) {
    await signBedrockRequest(request, { ...credentials, secretAccessKey: `secret-${i}` }, 'us-east-1', keys);
  }
  expect(keys.forSigner().size).toBeLessThanOrEqual(8);
});
