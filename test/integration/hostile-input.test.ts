// Hostile input from a registered agent and from a signed operator, against a real control plane:
// each case once answered 500 (or 200 with nonsense), or let one party break the listings of all.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { openApiCaller, registerRawPeer, type OpenApiCaller, type RawLubanPeer } from '../harness/raw-peer.js';

const LISTINGS = [
  'DescribeActivations',
  'DescribeCommands',
  'DescribeInvocations',
  'DescribeInvocationResults',
  'DescribeCloudAssistantStatus',
  'DescribeManagedInstances',
  'DescribeSendFileResults',
] as const;

const json = (body: string) => JSON.parse(body) as Record<string, unknown>;
const fetchQuery = () => `reason=kickoff&currentTime=${Date.now()}&offset=0&timeZone=UTC`;

describe('hostile input', () => {
  let h: TestControlPlane;
  let api: OpenApiCaller;
  let peer: RawLubanPeer;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup, { deliveryTimeoutMs: 3_600_000 });
    api = openApiCaller(cleanup, h);
    peer = await registerRawPeer(cleanup, h);
    await peer.connect();
  });

  /** A fresh one-shot invocation on the peer, fetched as the agent would; its invoke id. */
  async function runOnPeer(): Promise<string> {
    const r = (await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: 'echo hi',
      'InstanceId.1': peer.instanceId,
    })) as { InvokeId: string };
    const list = await peer.send({ method: 'POST', path: `/luban/api/v1/task/list?${fetchQuery()}`, body: '' });
    assert.equal(list.status, 200, list.body);
    return r.InvokeId;
  }

  const report = (kind: string, query: string, body = '') =>
    peer.send({
      method: 'POST',
      path: `/luban/api/v1/task/${kind}?${query}`,
      body,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    });

  async function listingsAnswer(): Promise<void> {
    for (const action of ['DescribeInvocations', 'DescribeInvocationResults'] as const) {
      const r = await api.signed(action, { IncludeOutput: 'true', PageSize: '50' });
      assert.equal(r.status, 200, `${action}: ${r.body}`);
    }
  }

  it('refuses an agent report with a time far outside the server clock, and the listings still answer', async () => {
    const invokeId = await runOnPeer();
    const now = Date.now();
    const bad = [
      `start=1&end=9000000000000000&exitCode=0&dropped=0`,
      `start=${now}&end=9000000000000000&exitCode=0&dropped=0`,
      `start=${now + 3 * 86_400_000}&end=${now}&exitCode=0&dropped=0`,
      `start=${now}&end=${now}&exitCode=0&dropped=0&currentTime=1e400`,
      `start=${now}&end=${now}&exitCode=99999999999&dropped=0`,
      `start=${now}&end=${now}&exitCode=-2147483649&dropped=0`,
      `start=${now}&end=${now}&exitCode=0&dropped=-1`,
      `start=${now}&end=${now}&exitCode=0&dropped=99999999999999999999`,
      `start=${now}&end=${now}&exitCode=NaN&dropped=0`,
      `invokeVersion=-1&start=${now}&end=${now}&exitCode=0&dropped=0`,
    ];
    for (const q of bad) {
      const r = await report('finish', `taskId=${invokeId}&${q}`);
      assert.equal(r.status, 400, `${q}: ${r.status} ${r.body}`);
      assert.match(String(json(r.body)['errMsg']), /\w/);
    }
    await listingsAnswer();
    // A Windows exit code above 2^31 is a real value: kept as reported.
    const ok = await report('finish', `taskId=${invokeId}&start=${now}&end=${now}&exitCode=4294967295&dropped=0`);
    assert.equal(ok.status, 200, ok.body);
    const res = json((await api.signed('DescribeInvocationResults', { InvokeId: invokeId })).body) as {
      Invocation: { InvocationResults: { InvocationResult: { ExitCode: number; FinishedTime: string }[] } };
    };
    const row = res.Invocation.InvocationResults.InvocationResult[0]!;
    assert.equal(row.ExitCode, 4294967295);
    assert.equal(row.FinishedTime, new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  });

  it('lists a row whose stored times are out of range, showing those times empty', async () => {
    const invokeId = await runOnPeer();
    await h.cp.db
      .updateTable('invocation_instances')
      .set({ finish_time: 9e15, start_time: 9e18, stop_time: -9e15 }) // 9e18: past any date, still a bigint
      .where('invoke_id', '=', invokeId)
      .execute();
    await h.cp.db
      .updateTable('instances')
      .set({ last_heartbeat_at: 9e15, last_invoked_at: 8.64e15 + 1 })
      .where('instance_id', '=', peer.instanceId)
      .execute();
    await listingsAnswer();
    const res = json((await api.signed('DescribeInvocationResults', { InvokeId: invokeId })).body) as {
      Invocation: { InvocationResults: { InvocationResult: Record<string, unknown>[] } };
    };
    const row = res.Invocation.InvocationResults.InvocationResult[0]!;
    assert.equal(row['FinishedTime'], '');
    assert.equal(row['StartTime'], '');
    assert.equal(row['StopTime'], '');
    const st = await api.signed('DescribeCloudAssistantStatus', { 'InstanceId.1': peer.instanceId });
    assert.equal(st.status, 200, st.body);
    assert.match(st.body, /"LastHeartbeatTime":""/);
    const mi = await api.signed('DescribeManagedInstances', { 'InstanceId.1': peer.instanceId });
    assert.equal(mi.status, 200, mi.body);
    assert.match(mi.body, /"LastInvokedTime":""/);
  });

  it('takes the server clock for the heartbeat, whatever numbers the agent sends', async () => {
    const r = await peer.send({
      method: 'GET',
      path: '/luban/api/heart-beat?uptime=-1&timestamp=9000000000000000&pid=1e400&process_uptime=NaN&index=-5&seq_no=x',
    });
    assert.equal(r.status, 200, r.body);
    const st = json((await api.signed('DescribeCloudAssistantStatus', { 'InstanceId.1': peer.instanceId })).body) as {
      InstanceCloudAssistantStatusSet: { InstanceCloudAssistantStatus: { LastHeartbeatTime: string }[] };
    };
    const seen = Date.parse(st.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus[0]!.LastHeartbeatTime);
    assert.ok(Math.abs(seen - Date.now()) < 60_000, `LastHeartbeatTime ${seen}`);
  });

  it('refuses a task list query with numbers that are not integers', async () => {
    for (const q of [
      'reason=kickoff&currentTime=1e400&offset=0&timeZone=UTC',
      'reason=kickoff&currentTime=1&offset=0.5',
    ]) {
      const r = await peer.send({ method: 'POST', path: `/luban/api/v1/task/list?${q}`, body: '' });
      assert.equal(r.status, 400, `${q}: ${r.body}`);
    }
  });

  it('answers Object.prototype member names as unknown actions and unknown report params', async () => {
    const names = [
      'valueOf',
      'hasOwnProperty',
      'isPrototypeOf',
      'propertyIsEnumerable',
      'toLocaleString',
      '__proto__',
      '__defineSetter__',
      'constructor',
      'toString',
    ];
    for (const action of names) {
      const r = await api.signed(action, {});
      assert.equal(r.status, 404, `${action}: ${r.status} ${r.body}`);
      assert.equal(json(r.body)['Code'], 'InvalidAction.NotFound', action);
    }
    const invokeId = await runOnPeer();
    for (const param of ['constructor', '__proto__', 'toString']) {
      const r = await report('invalid', `taskId=${invokeId}&invokeVersion=0&param=${param}&value=x`);
      assert.ok(r.status < 500, `param=${param}: ${r.status} ${r.body}`);
    }
    await listingsAnswer();
    const sf = await report('invalid', `taskId=${invokeId}&taskType=sendfile&param=constructor&value=x`);
    assert.equal(sf.status, 400, sf.body);
  });

  it('refuses a page beyond the documented range on every listing with InvalidParameter', async () => {
    const bad: Record<string, string>[] = [
      { PageNumber: '922337203685477580', PageSize: '10' },
      { PageNumber: '214748366', PageSize: '50' },
      { PageNumber: '9007199254740993' },
      { PageSize: '99999999999999999999' },
    ];
    for (const action of LISTINGS) {
      for (const p of bad) {
        const r = await api.signed(action, p);
        assert.equal(r.status, 400, `${action} ${JSON.stringify(p)}: ${r.body}`);
        assert.equal(json(r.body)['Code'], 'InvalidParameter', `${action} ${JSON.stringify(p)}`);
      }
      const far = await api.signed(action, { PageNumber: '1000', PageSize: '50' });
      assert.equal(far.status, 200, `${action}: ${far.body}`);
    }
    for (const action of ['DescribeInvocations', 'DescribeManagedInstances'] as const) {
      const r = await api.signed(action, { MaxResults: '18446744073709551616' });
      assert.equal(json(r.body)['Code'], 'InvalidParameter', `${action} MaxResults`);
    }
  });

  it('refuses more instance ids than documented, and never builds a statement sized by the request', async () => {
    const many = `[${Array.from({ length: 33_000 }, (_, i) => i + 1).join(',')}]`;
    for (const action of ['DescribeManagedInstances', 'DescribeCloudAssistantStatus'] as const) {
      const r = await api.signed(action, { InstanceId: many }, 'POST', { compact: true });
      assert.equal(r.status, 400, `${action}: ${r.body.slice(0, 300)}`);
      assert.equal(json(r.body)['Code'], 'InvalidParameter', action);
      const ids = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`InstanceId.${i + 1}`, `mi-x${i}`]));
      assert.equal(json((await api.signed(action, ids)).body)['Code'], 'InvalidParameter', `${action} 51 ids`);
      const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`InstanceId.${i + 1}`, `mi-x${i}`]));
      assert.equal((await api.signed(action, fifty)).status, 200, `${action} 50 ids`);
    }
    const invokeId = await runOnPeer();
    const stop = await api.signed('StopInvocation', { InvokeId: invokeId, InstanceId: many }, 'POST', {
      compact: true,
    });
    assert.ok(stop.status >= 400 && stop.status < 500, `StopInvocation: ${stop.status} ${stop.body.slice(0, 300)}`);
  });

  it('refuses a Connected filter that is not true or false', async () => {
    for (const action of ['DescribeManagedInstances'] as const) {
      for (const v of ['yes', '1', 'TRUE', 'garbage']) {
        const r = await api.signed(action, { Connected: v });
        assert.equal(r.status, 400, `${action} Connected=${v}: ${r.body}`);
        assert.equal(json(r.body)['Code'], 'InvalidParameter');
      }
      assert.equal((await api.signed(action, { Connected: 'false' })).status, 200);
    }
  });

  it('serves the console with framing and sniffing refused', async () => {
    for (const path of ['/console/', '/console/app.generated.js', '/console/style.css', '/console/nope', '/console']) {
      const r = await api.raw({ method: 'GET', path });
      assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/, path);
      assert.match(String(r.headers['content-security-policy']), /default-src 'self'/, path);
      assert.equal(r.headers['x-frame-options'], 'DENY', path);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
    }
  });

  it('refuses a NUL character in operator parameters and agent queries, storing nothing', async () => {
    const created = await api.signed('CreateCommand', {
      Name: 'nul\u0000name',
      Type: 'RunShellScript',
      CommandContent: Buffer.from('echo hi').toString('base64'),
    });
    assert.equal(created.status, 400, created.body);
    assert.equal(json(created.body)['Code'], 'InvalidParameter');
    const listed = await api.signed('DescribeCommands', { Name: 'nul\u0000name' });
    assert.equal(listed.status, 400, listed.body);
    const invokeId = await runOnPeer();
    const r = await report(
      'error',
      `taskId=${invokeId}&start=${Date.now()}&end=${Date.now()}&exitCode=1&dropped=0&errCode=x&errDesc=a%00b`,
    );
    assert.equal(r.status, 400, r.body);
    await listingsAnswer();
  });
});
