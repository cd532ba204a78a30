// The client against a real HTTP server on 127.0.0.1 (the control plane itself is exercised by test/e2e/cli.test.ts).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiClient, flattenParams } from './api-client.js';
import type { Credentials } from './credentials.js';
import { describeError, hintFor, isCliError } from './errors.js';
import { signatureOf } from './signer.js';

type Reply = { status: number; body: string };

describe('flattenParams', () => {
  it('flattens lists, tags and maps the RPC way, and drops undefined', () => {
    assert.deepEqual(
      flattenParams({
        InstanceId: ['mi-1', 'mi-2'],
        Tag: [{ key: 'team', value: 'a b' }, { key: 'solo' }],
        Parameters: { who: 'x"y', n: 2 },
        Timeout: 30,
        EnableParameter: false,
        WorkingDir: undefined,
      }),
      {
        'InstanceId.1': 'mi-1',
        'InstanceId.2': 'mi-2',
        'Tag.1.Key': 'team',
        'Tag.1.Value': 'a b',
        'Tag.2.Key': 'solo',
        Parameters: '{"who":"x\\"y","n":2}',
        Timeout: '30',
        EnableParameter: 'false',
      },
    );
  });
});

describe('ApiClient over real HTTP', () => {
  let server: Server;
  let creds: Credentials;
  const seen: { headers: IncomingMessage['headers']; form: URLSearchParams }[] = [];
  const replies: Reply[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ headers: req.headers, form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) });
        const r = replies.shift() ?? { status: 200, body: '{"RequestId":"r-ok"}' };
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    creds = {
      accessKeyId: 'id-1',
      accessKeySecret: 'secret-1',
      endpoint: `http://127.0.0.1:${port}`,
      regionId: 'cn-test',
      caFile: undefined,
      keySource: 'environment',
    };
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('POSTs a form whose signature verifies, with the RegionId and business parameters', async () => {
    const api = new ApiClient(creds);
    const body = await api.call<{ RequestId: string }>('RunCommand', {
      CommandContent: "echo 'a&b' $(x)",
      InstanceId: ['mi-1'],
    });
    api.close();
    assert.equal(body.RequestId, 'r-ok');
    const { headers, form } = seen.at(-1)!;
    assert.equal(headers['content-type'], 'application/x-www-form-urlencoded');
    const params = Object.fromEntries(form);
    assert.equal(params['CommandContent'], "echo 'a&b' $(x)");
    assert.equal(params['InstanceId.1'], 'mi-1');
    assert.equal(params['RegionId'], 'cn-test');
    assert.equal(params['AccessKeyId'], 'id-1');
    const { Signature, ...rest } = params;
    assert.equal(Signature, signatureOf('POST', rest, 'secret-1'));
  });

  it("turns the API's Code and Message into a CliError with a hint", async () => {
    replies.push({
      status: 400,
      body: JSON.stringify({
        RequestId: 'r-1',
        Code: 'SignatureDoesNotMatch',
        Message: 'The request signature does not conform.',
      }),
    });
    const api = new ApiClient(creds);
    const e = await api.call('DeleteCommand', { CommandId: 'c-1' }).then(
      () => assert.fail('expected an error'),
      (err: unknown) => err,
    );
    api.close();
    assert.ok(isCliError(e));
    assert.equal(e.code, 'API');
    assert.deepEqual(e.api, { apiCode: 'SignatureDoesNotMatch', httpStatus: 400, requestId: 'r-1' });
    assert.deepEqual(describeError(e), [
      'error: SignatureDoesNotMatch: The request signature does not conform.',
      'hint: check ASSIST_ACCESS_KEY_SECRET or run assist configure',
      'request id: r-1',
    ]);
  });

  it('retries a read-only call on Throttling, never a call that changes something', async () => {
    const throttled = { status: 503, body: '{"Code":"Throttling","Message":"busy"}' };
    const api = new ApiClient(creds);
    replies.push(throttled);
    const before = seen.length;
    await api.call('DescribeInstances');
    assert.equal(seen.length - before, 2, 'one refused, one answered');
    const twoNonces = seen.slice(-2).map((s) => s.form.get('SignatureNonce'));
    assert.notEqual(twoNonces[0], twoNonces[1]);
    replies.push(throttled);
    await assert.rejects(api.call('RunCommand'), (e: unknown) => isCliError(e) && e.api?.apiCode === 'Throttling');
    api.close();
  });

  it('a body that is not JSON, or no server at all, is a NETWORK error', async () => {
    replies.push({ status: 502, body: '<html>bad gateway</html>' });
    const api = new ApiClient(creds);
    await assert.rejects(
      api.call('StopInvocation'),
      (e: unknown) => isCliError(e) && e.code === 'NETWORK' && /not JSON/.test(e.message),
    );
    api.close();
    const dead = new ApiClient({ ...creds, endpoint: 'http://127.0.0.1:1' });
    await assert.rejects(
      dead.call('StopInvocation'),
      (e: unknown) => isCliError(e) && e.code === 'NETWORK' && /cannot reach/.test(e.message),
    );
    dead.close();
  });
});

describe('hints', () => {
  it('cover the credential errors and nothing unknown', () => {
    assert.equal(hintFor('InvalidAccessKeyId.NotFound'), 'check ASSIST_ACCESS_KEY_ID or run assist configure');
    assert.equal(hintFor('InvalidAccessKeyId'), 'check ASSIST_ACCESS_KEY_ID or run assist configure');
    assert.equal(hintFor('SignatureDoesNotMatch'), 'check ASSIST_ACCESS_KEY_SECRET or run assist configure');
    assert.equal(hintFor('Something.Else'), undefined);
  });
});
