import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiTimestamp, formEncode, percentEncode, signatureOf, signRequest, stringToSign } from './signer.js';

describe('signature v1', () => {
  it('reproduces the documented example (DescribeRegions, testid/testsecret)', () => {
    const params = {
      Timestamp: '2016-02-23T12:46:24Z',
      Format: 'XML',
      AccessKeyId: 'testid',
      Action: 'DescribeRegions',
      SignatureMethod: 'HMAC-SHA1',
      SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
      Version: '2014-05-26',
      SignatureVersion: '1.0',
    };
    assert.equal(
      stringToSign('GET', params),
      'GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1' +
        '%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0' +
        '%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26',
    );
    assert.equal(signatureOf('GET', params, 'testsecret'), 'OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
    // The method is signed: the same parameters POSTed sign differently.
    assert.notEqual(signatureOf('POST', params, 'testsecret'), 'OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
  });

  it('leaves Signature itself out of the string to sign', () => {
    const p = { Action: 'X', Signature: 'whatever' };
    assert.equal(stringToSign('POST', p), stringToSign('POST', { Action: 'X' }));
  });

  it("percent-encodes as RFC 3986: space %20, and !'()* encoded, ~ kept", () => {
    assert.equal(percentEncode("a b!'()*~-_.中"), 'a%20b%21%27%28%29%2A~-_.%E4%B8%AD');
    assert.equal(formEncode({ 'Tag.1.Key': 'k v', X: 'a&b=c' }), 'Tag.1.Key=k%20v&X=a%26b%3Dc');
  });

  it('signRequest adds the protocol parameters and a signature over all of them', () => {
    const at = new Date('2024-05-06T07:08:09.123Z');
    const signed = signRequest({
      method: 'POST',
      action: 'RunCommand',
      accessKeyId: 'id1',
      accessKeySecret: 's3cret',
      params: { CommandContent: 'echo $(id); exit 3', 'InstanceId.1': 'mi-1' },
      at,
      nonce: 'n-1',
    });
    assert.equal(signed['Timestamp'], '2024-05-06T07:08:09Z');
    assert.equal(signed['Action'], 'RunCommand');
    assert.equal(signed['Version'], '2014-05-26');
    assert.equal(signed['SignatureMethod'], 'HMAC-SHA1');
    assert.equal(signed['SignatureNonce'], 'n-1');
    const { Signature, ...rest } = signed;
    assert.equal(Signature, signatureOf('POST', rest, 's3cret'));
    assert.notEqual(Signature, signatureOf('POST', { ...rest, CommandContent: 'echo other' }, 's3cret'));
    // A fresh nonce on every call, so the server's replay check never refuses a retry.
    const again = (n?: string) =>
      signRequest({
        method: 'POST',
        action: 'A',
        accessKeyId: 'i',
        accessKeySecret: 's',
        params: {},
        ...(n ? { nonce: n } : {}),
      });
    assert.notEqual(again()['SignatureNonce'], again()['SignatureNonce']);
  });

  it('formats timestamps without fractions, in UTC', () => {
    assert.equal(apiTimestamp(new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 999))), '2030-01-02T03:04:05Z');
  });
});
