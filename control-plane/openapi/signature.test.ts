// Signature verification against requests captured from the real SDKs, plus the documented v1 vector.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Ecs from '@alicloud/ecs20140526';
import OpenApi from '@alicloud/openapi-client';
import RPCClient from '@alicloud/pop-core';
import { verifyApiRequest, type IncomingApiRequest, type SignatureCheck } from './signature.js';

const AK = 'LTAI5tTestAccessKey';
const SECRET = 'TestSecret/With+Symbols=';
const lookup = (id: string): string | undefined => (id === AK ? SECRET : undefined);
const HOUR = 3_600_000;

// Non-ASCII, RFC 3986 reserved characters and the ones the two encoders treat differently.
const COMMAND = "echo '你好 wörld' * ~ + / = !() a&b=c %20 #x";
const RUN_RESPONSE = '{"RequestId":"x","CommandId":"c-1","InvokeId":"t-1"}';
const PROTOCOL_PARAMS = [
  'Signature',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureNonce',
  'Timestamp',
  'AccessKeyId',
  'Format',
  'Version',
  'Action',
];

/** A request as our HTTP server saw it, and when. */
interface Captured {
  req: IncomingApiRequest;
  atMs: number;
}

type Ok = Extract<SignatureCheck, { ok: true }>;

function verifyOk(req: IncomingApiRequest, nowMs: number): Ok {
  const check = verifyApiRequest(req, lookup, nowMs);
  assert.ok(check.ok, `expected ok, got ${JSON.stringify(check)}`);
  return check;
}

function assertFails(check: SignatureCheck, code: string): void {
  assert.equal(check.ok, false, `expected ${code}, got ok`);
  if (!check.ok) {
    assert.equal(check.code, code, check.message);
  }
}

/** Starts a server that records every request and answers like RunCommand. */
async function startCaptureServer(): Promise<{ port: number; captured: Captured[]; close: () => Promise<void> }> {
  const captured: Captured[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      captured.push({
        atMs: Date.now(),
        req: {
          method: req.method ?? 'GET',
          path: q < 0 ? url : url.slice(0, q),
          rawQuery: q < 0 ? '' : url.slice(q + 1),
          headers: { ...req.headers },
          body: Buffer.concat(chunks),
        },
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(RUN_RESPONSE);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // pop-core keeps its sockets alive
    });
  return { port, captured, close };
}

// --- request mutators (each returns a copy) ---

function withQuery(req: IncomingApiRequest, edit: (q: URLSearchParams) => void): IncomingApiRequest {
  const q = new URLSearchParams(req.rawQuery);
  edit(q);
  return { ...req, rawQuery: q.toString() };
}

function withBody(req: IncomingApiRequest, edit: (q: URLSearchParams) => void): IncomingApiRequest {
  const q = new URLSearchParams(req.body.toString('utf8'));
  edit(q);
  return { ...req, body: Buffer.from(q.toString(), 'utf8') };
}

/** Changes a parameter wherever the client put it (query string, or form body for v1 POST). */
function withParam(req: IncomingApiRequest, key: string, value: string): IncomingApiRequest {
  if (new URLSearchParams(req.rawQuery).has(key)) {
    return withQuery(req, (q) => q.set(key, value));
  }
  assert.ok(new URLSearchParams(req.body.toString('utf8')).has(key), `${key} is neither in the query nor the body`);
  return withBody(req, (q) => q.set(key, value));
}

function withHeaders(req: IncomingApiRequest, headers: Record<string, string | undefined>): IncomingApiRequest {
  return { ...req, headers: { ...req.headers, ...headers } };
}

/** Replaces one field of the ACS3 Authorization header, or removes it when value is undefined. */
function withAuthField(req: IncomingApiRequest, field: string, value: string | undefined): IncomingApiRequest {
  const auth = String(req.headers['authorization']);
  const [scheme, rest = ''] = auth.split(' ', 2);
  const fields = rest
    .split(',')
    .filter((part) => !part.startsWith(`${field}=`))
    .concat(value === undefined ? [] : [`${field}=${value}`]);
  return withHeaders(req, { authorization: `${scheme} ${fields.join(',')}` });
}

void describe('verifyApiRequest against the real SDKs', () => {
  const wire = {} as Record<'acs3' | 'v1Post' | 'v1Get', Captured>;
  let closeServer: () => Promise<void> = async () => {};

  before(async () => {
    const { port, captured, close } = await startCaptureServer();
    closeServer = close;
    const take = (): Captured => {
      assert.equal(captured.length, 1, 'the SDK call should make exactly one request');
      return captured.pop()!;
    };

    // ESM sees the CommonJS exports object as the default import: the client class is its `default`.
    const EcsClient = Ecs.default;
    const ecs = new EcsClient(
      new OpenApi.Config({
        accessKeyId: AK,
        accessKeySecret: SECRET,
        endpoint: `127.0.0.1:${port}`,
        protocol: 'http',
        regionId: 'cn-hangzhou',
      }),
    );
    const ecsResponse = await ecs.runCommand(
      new Ecs.RunCommandRequest({
        regionId: 'cn-hangzhou',
        type: 'RunShellScript',
        commandContent: COMMAND,
        instanceId: ['i-1', 'i-2'],
        parameters: { name: 'wörld' },
        enableParameter: true,
        timeout: 60,
      }),
    );
    assert.equal(ecsResponse.body?.invokeId, 't-1', 'the ecs SDK parsed our answer');
    wire.acs3 = take();

    const pop = new RPCClient({
      accessKeyId: AK,
      accessKeySecret: SECRET,
      endpoint: `http://127.0.0.1:${port}`,
      apiVersion: '2014-05-26',
    });
    const runParams = {
      RegionId: 'cn-hangzhou',
      Type: 'RunShellScript',
      CommandContent: COMMAND,
      InstanceId: ['i-1', 'i-2'],
    };
    const postResponse = await pop.request<{ InvokeId: string }>('RunCommand', runParams, { method: 'POST' });
    assert.equal(postResponse.InvokeId, 't-1', 'pop-core parsed our answer');
    wire.v1Post = take();

    await pop.request('DescribeInvocations', { RegionId: 'cn-hangzhou', InvokeId: 't-1', CommandName: COMMAND });
    wire.v1Get = take();
  });

  after(() => closeServer());

  void test('ecs20140526 RunCommand (ACS3) verifies, with decoded business parameters and header action', () => {
    const { req, atMs } = wire.acs3;
    assert.match(String(req.headers['authorization']), /^ACS3-HMAC-SHA256 Credential=/);
    const check = verifyOk(req, atMs);
    assert.equal(check.style, 'acs3');
    assert.equal(check.accessKeyId, AK);
    assert.equal(check.action, 'RunCommand');
    assert.equal(check.version, '2014-05-26');
    assert.equal(check.nonce, req.headers['x-acs-signature-nonce']);
    assert.equal(check.timestampMs, Date.parse(String(req.headers['x-acs-date'])));
    assert.ok(Math.abs(check.timestampMs - atMs) < 10_000, 'signed moments before it arrived');
    assert.deepEqual(
      { ...check.params },
      {
        CommandContent: COMMAND,
        EnableParameter: 'true',
        'InstanceId.1': 'i-1',
        'InstanceId.2': 'i-2',
        Parameters: '{"name":"wörld"}',
        RegionId: 'cn-hangzhou',
        Timeout: '60',
        Type: 'RunShellScript',
      },
    );
  });

  void test('pop-core POST RunCommand (v1, form body) verifies, with protocol parameters removed', () => {
    const { req, atMs } = wire.v1Post;
    assert.equal(req.method, 'POST');
    assert.equal(req.rawQuery, '', 'pop-core sends everything in the body for POST');
    const check = verifyOk(req, atMs);
    assert.equal(check.style, 'v1');
    assert.equal(check.accessKeyId, AK);
    assert.equal(check.action, 'RunCommand');
    assert.equal(check.version, '2014-05-26');
    assert.equal(check.nonce, new URLSearchParams(req.body.toString()).get('SignatureNonce'));
    assert.ok(Math.abs(check.timestampMs - atMs) < 10_000, 'signed moments before it arrived');
    assert.deepEqual(
      { ...check.params },
      {
        CommandContent: COMMAND,
        'InstanceId.1': 'i-1',
        'InstanceId.2': 'i-2',
        RegionId: 'cn-hangzhou',
        Type: 'RunShellScript',
      },
    );
  });

  void test('pop-core GET DescribeInvocations (v1, query) verifies', () => {
    const { req, atMs } = wire.v1Get;
    assert.equal(req.method, 'GET');
    const check = verifyOk(req, atMs);
    assert.equal(check.style, 'v1');
    assert.equal(check.action, 'DescribeInvocations');
    assert.equal(check.nonce, new URLSearchParams(req.rawQuery).get('SignatureNonce'));
    assert.deepEqual({ ...check.params }, { CommandName: COMMAND, InvokeId: 't-1', RegionId: 'cn-hangzhou' });
    for (const name of PROTOCOL_PARAMS) {
      assert.equal(name in check.params, false, name);
    }
  });

  for (const name of ['acs3', 'v1Post', 'v1Get'] as const) {
    void describe(`${name}: tampering and key checks`, () => {
      void test('a wrong secret gives SignatureDoesNotMatch', () => {
        const { req, atMs } = wire[name];
        assertFails(
          verifyApiRequest(req, () => 'not-the-secret', atMs),
          'SignatureDoesNotMatch',
        );
      });

      void test('one changed parameter value gives SignatureDoesNotMatch', () => {
        const { req, atMs } = wire[name];
        assertFails(verifyApiRequest(withParam(req, 'RegionId', 'cn-beijing'), lookup, atMs), 'SignatureDoesNotMatch');
      });

      void test('an added unsigned query parameter gives SignatureDoesNotMatch', () => {
        const { req, atMs } = wire[name];
        const extra = withQuery(req, (q) => q.append('InstanceId.3', 'i-evil'));
        assertFails(verifyApiRequest(extra, lookup, atMs), 'SignatureDoesNotMatch');
      });

      void test('an unknown AccessKeyId gives InvalidAccessKeyId.NotFound', () => {
        const { req, atMs } = wire[name];
        assertFails(
          verifyApiRequest(req, () => undefined, atMs),
          'InvalidAccessKeyId.NotFound',
        );
      });

      void test('the timestamp is accepted within the skew and refused an hour away', () => {
        const { req, atMs } = wire[name];
        const { timestampMs } = verifyOk(req, atMs);
        assert.ok(verifyApiRequest(req, lookup, timestampMs + 14 * 60_000).ok, '14 min later is within 15 min');
        assertFails(verifyApiRequest(req, lookup, timestampMs + 16 * 60_000), 'InvalidTimeStamp.Expired');
        assertFails(verifyApiRequest(req, lookup, atMs + HOUR), 'InvalidTimeStamp.Expired');
        assertFails(verifyApiRequest(req, lookup, atMs - HOUR), 'InvalidTimeStamp.Expired');
        assertFails(verifyApiRequest(req, lookup, atMs + 60_000, 30_000), 'InvalidTimeStamp.Expired');
      });

      void test('a different percent-encoding and order of the same parameters still verifies', () => {
        // URLSearchParams re-encodes with '+' for spaces and %7E for '~': the signature covers values, not bytes.
        const { req, atMs } = wire[name];
        const reencoded = req.rawQuery !== '' ? withQuery(req, (q) => q.sort()) : withBody(req, (q) => q.sort());
        assert.notDeepEqual([reencoded.rawQuery, reencoded.body], [req.rawQuery, req.body]);
        assert.equal(verifyOk(reencoded, atMs).accessKeyId, AK);
      });
    });
  }

  void describe('ACS3 specifics', () => {
    void test('a body that does not match x-acs-content-sha256 gives SignatureDoesNotMatch', () => {
      const { req, atMs } = wire.acs3;
      const check = verifyApiRequest({ ...req, body: Buffer.from('InstanceId.3=i-evil') }, lookup, atMs);
      assertFails(check, 'SignatureDoesNotMatch');
      assert.match(check.ok ? '' : check.message, /does not match the SHA-256 of the request body/);
    });

    void test('a body with a matching but unsigned x-acs-content-sha256 gives SignatureDoesNotMatch', () => {
      const { req, atMs } = wire.acs3;
      const body = Buffer.from('InstanceId.3=i-evil');
      const swapped = withHeaders(
        { ...req, body },
        { 'x-acs-content-sha256': createHash('sha256').update(body).digest('hex') },
      );
      assertFails(verifyApiRequest(swapped, lookup, atMs), 'SignatureDoesNotMatch');
    });

    void test('a changed signed header (x-acs-action) gives SignatureDoesNotMatch', () => {
      const { req, atMs } = wire.acs3;
      const check = verifyApiRequest(withHeaders(req, { 'x-acs-action': 'DeleteCommand' }), lookup, atMs);
      assertFails(check, 'SignatureDoesNotMatch');
    });

    void test('a changed path gives SignatureDoesNotMatch', () => {
      const { req, atMs } = wire.acs3;
      assertFails(verifyApiRequest({ ...req, path: '/other' }, lookup, atMs), 'SignatureDoesNotMatch');
    });

    void test('another algorithm gives UnsupportedSignatureMethod', () => {
      const { req, atMs } = wire.acs3;
      const auth = String(req.headers['authorization']).replace('ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3');
      assertFails(
        verifyApiRequest(withHeaders(req, { authorization: auth }), lookup, atMs),
        'UnsupportedSignatureMethod',
      );
    });

    void test('no Credential gives MissingAccessKeyId, no Signature gives IncompleteSignature', () => {
      const { req, atMs } = wire.acs3;
      assertFails(verifyApiRequest(withAuthField(req, 'Credential', undefined), lookup, atMs), 'MissingAccessKeyId');
      assertFails(verifyApiRequest(withAuthField(req, 'Signature', undefined), lookup, atMs), 'IncompleteSignature');
    });

    void test('SignedHeaders without x-acs-date or x-acs-action gives IncompleteSignature', () => {
      const { req, atMs } = wire.acs3;
      for (const dropped of ['x-acs-date', 'x-acs-action']) {
        const signed = String(req.headers['authorization'])
          .match(/SignedHeaders=([^,]+)/)![1]!
          .split(';')
          .filter((h) => h !== dropped)
          .join(';');
        const check = verifyApiRequest(withAuthField(req, 'SignedHeaders', signed), lookup, atMs);
        assertFails(check, 'IncompleteSignature');
        assert.match(check.ok ? '' : check.message, new RegExp(dropped));
      }
    });

    void test('SignedHeaders naming Object.prototype members is a mismatch, not a crash', () => {
      const { req, atMs } = wire.acs3;
      const signed =
        'constructor;__proto__;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version';
      const check = verifyApiRequest(withAuthField(req, 'SignedHeaders', signed), lookup, atMs);
      assertFails(check, 'SignatureDoesNotMatch');
    });

    void test('a malformed x-acs-date gives InvalidTimeStamp.Format', () => {
      const { req, atMs } = wire.acs3;
      for (const date of ['2024-01-01 00:00:00', '2024-02-30T00:00:00Z', '1704067200']) {
        assertFails(
          verifyApiRequest(withHeaders(req, { 'x-acs-date': date }), lookup, atMs),
          'InvalidTimeStamp.Format',
        );
      }
    });
  });

  void describe('v1 specifics', () => {
    void test('a SignatureMethod other than HMAC-SHA1 gives UnsupportedSignatureMethod', () => {
      const { req, atMs } = wire.v1Get;
      const check = verifyApiRequest(withParam(req, 'SignatureMethod', 'HMAC-SHA256'), lookup, atMs);
      assertFails(check, 'UnsupportedSignatureMethod');
    });

    void test('no AccessKeyId gives MissingAccessKeyId, no Signature gives IncompleteSignature', () => {
      const { req, atMs } = wire.v1Get;
      assertFails(
        verifyApiRequest(
          withQuery(req, (q) => q.delete('AccessKeyId')),
          lookup,
          atMs,
        ),
        'MissingAccessKeyId',
      );
      assertFails(
        verifyApiRequest(
          withQuery(req, (q) => q.delete('Signature')),
          lookup,
          atMs,
        ),
        'IncompleteSignature',
      );
    });

    void test('a malformed Timestamp gives InvalidTimeStamp.Format', () => {
      const { req, atMs } = wire.v1Post;
      const check = verifyApiRequest(withParam(req, 'Timestamp', '2024-13-01T00:00:00Z'), lookup, atMs);
      assertFails(check, 'InvalidTimeStamp.Format');
    });

    void test('a parameter repeated in the query and the body is refused', () => {
      const { req, atMs } = wire.v1Post;
      const repeated = { ...req, rawQuery: 'RegionId=cn-hangzhou' };
      assertFails(verifyApiRequest(repeated, lookup, atMs), 'SignatureDoesNotMatch');
    });

    void test('the unsigned x-acs-action header pop-core also sends is ignored', () => {
      const { req, atMs } = wire.v1Get;
      const check = verifyOk(withHeaders(req, { 'x-acs-action': 'DeleteCommand' }), atMs);
      assert.equal(check.action, 'DescribeInvocations');
    });
  });
});

void describe('verifyApiRequest without the SDKs', () => {
  void test('reproduces the documented v1 example (DescribeRegions, testsecret)', () => {
    const rawQuery =
      'Timestamp=2016-02-23T12%3A46%3A24Z&Format=XML&AccessKeyId=testid&Action=DescribeRegions' +
      '&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&Version=2014-05-26' +
      '&SignatureVersion=1.0&Signature=OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D';
    const req: IncomingApiRequest = { method: 'GET', path: '/', rawQuery, headers: {}, body: Buffer.alloc(0) };
    const secrets = (id: string) => (id === 'testid' ? 'testsecret' : undefined);
    const check = verifyApiRequest(req, secrets, Date.parse('2016-02-23T12:50:00Z'));
    assert.ok(check.ok, JSON.stringify(check));
    assert.equal(check.action, 'DescribeRegions');
    assert.equal(check.nonce, '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf');
    assert.equal(check.timestampMs, Date.parse('2016-02-23T12:46:24Z'));
    assert.deepEqual({ ...check.params }, {});
    assertFails(verifyApiRequest({ ...req, method: 'POST' }, secrets, check.timestampMs), 'SignatureDoesNotMatch');
  });

  void test('a request with no credentials at all gives MissingAccessKeyId', () => {
    const req: IncomingApiRequest = {
      method: 'GET',
      path: '/',
      rawQuery: 'Action=DescribeRegions&RegionId=cn-hangzhou',
      headers: {},
      body: Buffer.alloc(0),
    };
    assertFails(verifyApiRequest(req, lookup, Date.now()), 'MissingAccessKeyId');
  });

  void test('a foreign Authorization scheme gives UnsupportedSignatureMethod', () => {
    const req: IncomingApiRequest = {
      method: 'GET',
      path: '/',
      rawQuery: 'Action=DescribeRegions',
      headers: { authorization: 'Bearer abc' },
      body: Buffer.alloc(0),
    };
    assertFails(verifyApiRequest(req, lookup, Date.now()), 'UnsupportedSignatureMethod');
  });
});
