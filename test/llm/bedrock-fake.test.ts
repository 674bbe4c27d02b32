import { describe, expect, it } from 'vitest';
import { verifySigV4 } from '../fixtures/sigv4-verify.js';

// The fake's signature check is only as good as its verifier: pin it to AWS's own published
// example ("Signed Signature Version 4 Requests Examples", AWS General Reference).
const example = {
  method: 'POST',
  path: '/',
  headers: {
    host: 'iam.amazonaws.com',
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    'x-amz-date': '20110909T233600Z',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ced6826de92d2bdeed8f846f0bf508e8559e98e4b0199114b84c54174deb456c',
  },
  body: 'Action=ListUsers&Version=2010-05-08',
};
const expected = {
  credentials: [{ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }],
  region: 'us-east-1',
  service: 'iam',
  now: Date.parse('2011-09-09T23:36:00Z'),
};

describe('the fake’s SigV4 verifier', () => {
  it('accepts AWS’s published example request', () => {
    expect(verifySigV4(example, expected)).toBeUndefined();
  });

  it('refuses it once anything signed changes, as AWS does', () => {
    expect(verifySigV4({ ...example, body: `${example.body}&x=1` }, expected)?.errorType).toBe(
      'InvalidSignatureException',
    );
    expect(verifySigV4({ ...example, path: '/other' }, expected)?.errorType).toBe('InvalidSignatureException');
    const headers = { ...example.headers, host: 'evil.example.com' };
    expect(verifySigV4({ ...example, headers }, expected)?.errorType).toBe('InvalidSignatureException');
    const wrongSecret = { ...expected, credentials: [{ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'nope' }] };
    expect(verifySigV4(example, wrongSecret)?.status).toBe(403);
  });

  it('refuses unknown keys, other regions, stale dates and missing authorization', () => {
    expect(verifySigV4(example, { ...expected, credentials: [] })?.errorType).toBe('UnrecognizedClientException');
    expect(verifySigV4(example, { ...expected, region: 'eu-west-1' })?.errorType).toBe('InvalidSignatureException');
    expect(verifySigV4(example, { ...expected, now: expected.now + 16 * 60_000 })?.message).toMatch(/expired/);
    const { authorization: _omit, ...unsigned } = example.headers;
    expect(verifySigV4({ ...example, headers: unsigned }, expected)?.errorType).toBe(
      'MissingAuthenticationTokenException',
    );
  });
});
