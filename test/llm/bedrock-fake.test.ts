import { describe, expect, it } from 'vitest';
import { signBedrockRequest } from '../../src/llm/bedrock-signer.js';
import { FAKE_AWS_CREDENTIALS, startFakeBedrock } from '../fixtures/fake-bedrock-server.js';
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

describe('the Bedrock fake', () => {
  it('refuses the conversations Converse refuses, in the service’s words', async () => {
    const fake = await startFakeBedrock();
    try {
      const send = async (body: unknown) => {
        const url = `${fake.url}/model/amazon.nova-pro-v1%3A0/converse-stream`;
        const request = { url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
        const headers = await signBedrockRequest(request, FAKE_AWS_CREDENTIALS, 'us-east-1');
        const response = await fetch(url, { method: 'POST', headers, body: request.body });
        if (response.ok) {
          return [response.status, response.headers.get('content-type'), (await response.arrayBuffer()).byteLength > 0];
        }
        return [
          response.status,
          response.headers.get('x-amzn-errortype')?.split(':')[0],
          (await response.json()).message,
        ];
      };
      const user = { role: 'user', content: [{ text: 'Hi' }] };
      const use = { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'add', input: {} } }] };
      const result = { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: '1' }] } }] };
      const tools = { tools: [{ toolSpec: { name: 'add', inputSchema: { json: { type: 'object' } } } }] };
      expect(await send({ messages: [user, use, result] })).toEqual([
        400,
        'ValidationException',
        'The toolConfig field must be defined when using toolUse and toolResult content blocks.',
      ]);
      expect((await send({ messages: [user, user] }))[2]).toMatch(/must alternate between user and assistant/);
      expect((await send({ messages: [user, { role: 'assistant', content: [] }, user] }))[2]).toMatch(
        /content field in the Message object at messages.1 is empty/,
      );
      expect((await send({ messages: [{ role: 'user', content: [{ text: '  ' }] }] }))[2]).toMatch(/is blank/);
      expect((await send({ messages: [user, use, user], toolConfig: tools }))[2]).toMatch(
        /Expected toolResult blocks at messages.2.content for the following Ids: t1/,
      );
      const dotted = { tools: [{ toolSpec: { name: 'fs.read', inputSchema: { json: {} } } }] };
      expect((await send({ messages: [user], toolConfig: dotted }))[2]).toMatch(/toolSpec.name' failed to satisfy/);
      // And a well-formed one streams.
      expect(await send({ messages: [user, use, result], toolConfig: tools })).toEqual([
        200,
        'application/vnd.amazon.eventstream',
        true,
      ]);
    } finally {
      await fake.close();
    }
  });
});
