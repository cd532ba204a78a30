// Issue 3, stopping and delivery: StopInvocation on a real agent running `sleep 300` and on
// executions not yet fetched, DeliveryTimeout for a connected agent that never fetches,
// ClientNotOnline for one that is not connected, and ModifyInvocationAttribute before delivery.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { registerAgent, startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually, SLACK_MS } from '../harness/eventually.js';
import { apiError } from '../harness/sdk.js';
import { connectStockPeer, type StockPeer } from '../harness/stock-peer.js';

const DELIVERY_TIMEOUT_MS = 4_000;

type Result = {
  InstanceId: string;
  InvocationStatus: string;
  InvokeRecordStatus: string;
  ErrorCode: string;
  ErrorInfo: string;
  Output: string;
  StartTime: string;
  StopTime: string;
  FinishedTime: string;
};

const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const ps = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
const fetchQuery = (taskId?: string) =>
  `reason=kickoff${taskId ? `&taskId=${taskId}` : ''}&currentTime=${Date.now()}&offset=0&timeZone=UTC`;

async function snapshot(h: TestControlPlane) {
  const db = h.cp.db;
  return {
    commands: await db.selectFrom('commands').selectAll().orderBy('command_id').execute(),
    invocations: await db.selectFrom('invocations').selectAll().orderBy('invoke_id').execute(),
    records: await db
      .selectFrom('invocation_instances')
      .select(['invoke_id', 'instance_id', 'status', 'error_code', 'delivered_at'])
      .orderBy('invoke_id')
      .orderBy('instance_id')
      .execute(),
  };
}

describe('stop and delivery end to end', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  let peer: StockPeer;
  let offline: string;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup, { deliveryTimeoutMs: DELIVERY_TIMEOUT_MS });
    [agent, peer, { instanceId: offline }] = await Promise.all([
      startAgent(cleanup, h),
      connectStockPeer(cleanup, h),
      registerAgent(cleanup, h),
    ]);
  });

  const run = async (content: string, instanceIds: string[], extra: Record<string, unknown> = {}) => {
    const ids = Object.fromEntries(instanceIds.map((id, i) => [`InstanceId.${i + 1}`, id]));
    return (await h.pop.call('RunCommand', { Type: 'RunShellScript', CommandContent: content, ...ids, ...extra }))
      .InvokeId as string;
  };
  const results = async (invokeId: string): Promise<Result[]> =>
    (await h.pop.call('DescribeInvocationResults', { InvokeId: invokeId })).Invocation.InvocationResults
      .InvocationResult;
  const resultOn = async (invokeId: string, instanceId: string): Promise<Result> =>
    (await results(invokeId)).find((r) => r.InstanceId === instanceId)!;
  const invocationStatus = async (invokeId: string): Promise<string> =>
    (await h.pop.call('DescribeInvocations', { InvokeId: invokeId })).Invocations.Invocation[0].InvocationStatus;

  it('stops a running sleep 300: Stopped with its output, and the process is gone', async () => {
    const marker = `oca-stop-${Date.now()}`;
    const id = await run(`echo started; sh -c 'sleep 300; echo ${marker}'`, [agent.instanceId]);
    await eventually(() => resultOn(id, agent.instanceId), {
      until: (r) => r.InvokeRecordStatus === 'Running' && text(r.Output) === 'started\n',
      timeoutMs: 15_000,
      what: 'the script to run and stream its first line',
    });
    assert.ok(ps().includes(marker), 'the script is running before the stop');
    const stopped = Date.now();
    await h.ecs.call('stopInvocation', { regionId: 'cn-local', invokeId: id, instanceId: [agent.instanceId] });
    const r = await eventually(() => resultOn(id, agent.instanceId), {
      until: (x) => x.InvokeRecordStatus === 'Stopped',
      timeoutMs: 15_000,
      what: 'the stopped report',
    });
    assert.equal(r.InvocationStatus, 'Stopped');
    assert.ok(Date.parse(r.StopTime) >= Math.floor(stopped / 1000) * 1000, r.StopTime);
    assert.ok(r.StartTime !== '');
    assert.equal(text(r.Output), 'started\n');
    assert.equal(await invocationStatus(id), 'Stopped');
    await eventually(() => !ps().includes(marker), { timeoutMs: 10_000, what: 'the stopped script to be gone' });
    // The agent runs the next command as usual.
    const next = await run('echo after', [agent.instanceId]);
    const after = await eventually(() => resultOn(next, agent.instanceId), {
      until: (x) => x.InvokeRecordStatus === 'Finished',
      timeoutMs: 15_000,
    });
    assert.equal(text(after.Output), 'after\n');
  });

  it('stops an execution its agent has not fetched: Stopped at once, never delivered, no stop kick', async () => {
    const id = await run('echo never', [peer.instanceId]);
    await peer.kicked(`kick_vm task run ${id}`);
    assert.equal((await resultOn(id, peer.instanceId)).InvocationStatus, 'Pending');
    await h.pop.call('StopInvocation', { InvokeId: id });
    const r = await resultOn(id, peer.instanceId);
    assert.equal(r.InvocationStatus, 'Stopped');
    assert.equal(r.InvokeRecordStatus, 'Stopped');
    assert.notEqual(r.StopTime, '');
    assert.equal(r.StartTime, '');
    assert.equal(await invocationStatus(id), 'Stopped');
    const list = await peer.fetch(fetchQuery(id));
    assert.deepEqual([list.json['run'], list.json['stop']], [[], []]);
    assert.ok(!peer.kicks.includes(`kick_vm task stop ${id}`));
  });

  it('turns a fetched execution to Stopping, kicks its agent to stop, and ends it on the stopped report', async () => {
    const id = await run('sleep 300', [peer.instanceId]);
    await peer.kicked(`kick_vm task run ${id}`);
    const got = await peer.fetch(fetchQuery(id));
    const task = (got.json['run'] as { task: { taskID: string } }[])[0]!.task;
    assert.equal(task.taskID, id);
    await h.pop.call('StopInvocation', { InvokeId: id, 'InstanceId.1': peer.instanceId });
    assert.equal((await resultOn(id, peer.instanceId)).InvocationStatus, 'Stopping');
    assert.equal(await invocationStatus(id), 'Stopping');
    await peer.kicked(`kick_vm task stop ${id}`);
    const stop = await peer.fetch(fetchQuery(id));
    assert.deepEqual(stop.json['run'], []);
    assert.deepEqual(stop.json['stop'], [{ ...(got.json['run'] as object[]) }[0]]);
    // Asked again while Stopping: nothing changes but the agent is kicked again.
    const kicksBefore = peer.kicks.length;
    await h.pop.call('StopInvocation', { InvokeId: id });
    await eventually(() => peer.kicks.length > kicksBefore, { what: 'a second stop kick' });
    const now = Date.now();
    await peer.report(
      'stopped',
      `taskId=${id}&invokeVersion=0&start=${now - 500}&end=${now}&exitcode=0&dropped=0&result=killed`,
    );
    const r = await resultOn(id, peer.instanceId);
    assert.equal(r.InvocationStatus, 'Stopped');
    assert.equal(Date.parse(r.StopTime), Math.floor(now / 1000) * 1000);
  });

  it('stops only the instances named, and aggregates the invocation status from all of them', async () => {
    const id = await run('sleep 300', [agent.instanceId, peer.instanceId]);
    // The peer never fetches: stop it before its delivery window ends.
    await h.pop.call('StopInvocation', { InvokeId: id, 'InstanceId.1': peer.instanceId });
    assert.equal((await resultOn(id, peer.instanceId)).InvocationStatus, 'Stopped');
    await eventually(() => resultOn(id, agent.instanceId), {
      until: (r) => r.InvokeRecordStatus === 'Running',
      timeoutMs: 15_000,
    });
    assert.equal(await invocationStatus(id), 'Running');
    await h.pop.call('StopInvocation', { InvokeId: id });
    await eventually(() => invocationStatus(id), { until: (s) => s === 'Stopped', timeoutMs: 15_000 });
    assert.equal((await resultOn(id, agent.instanceId)).InvocationStatus, 'Stopped');
  });

  it('fails an execution no agent fetched in time with DeliveryTimeout; offline ones fail at once', async () => {
    const started = Date.now();
    const id = await run('echo late', [peer.instanceId, offline]);
    await peer.kicked(`kick_vm task run ${id}`);
    const off = await resultOn(id, offline);
    assert.deepEqual(
      [off.InvocationStatus, off.InvokeRecordStatus, off.ErrorCode],
      ['Aborted', 'Failed', 'ClientNotOnline'],
    );
    assert.equal((await resultOn(id, peer.instanceId)).InvocationStatus, 'Pending');
    assert.equal(await invocationStatus(id), 'Running');
    const r = await eventually(() => resultOn(id, peer.instanceId), {
      until: (x) => x.InvokeRecordStatus !== 'Pending',
      // The window ends DELIVERY_TIMEOUT_MS after creation (plus a sweep, every second here).
      timeoutMs: DELIVERY_TIMEOUT_MS + SLACK_MS,
      what: 'the delivery timeout',
    });
    assert.ok(Date.now() - started >= DELIVERY_TIMEOUT_MS - 100, 'not before the window ends');
    assert.deepEqual([r.InvocationStatus, r.InvokeRecordStatus, r.ErrorCode], ['Aborted', 'Failed', 'DeliveryTimeout']);
    assert.match(r.ErrorInfo, /did not fetch/);
    assert.notEqual(r.FinishedTime, '');
    assert.equal(await invocationStatus(id), 'Failed');
    // The task is no longer handed out, and a late report on it changes nothing.
    assert.deepEqual((await peer.fetch(fetchQuery(id))).json['run'], []);
    await peer.report('running', `taskId=${id}&invokeVersion=0&start=${Date.now()}`, 'late');
    assert.equal((await resultOn(id, peer.instanceId)).ErrorCode, 'DeliveryTimeout');
  });

  it('changes parameters and content of an invocation until it is fetched, then refuses', async () => {
    const id = await run('echo {{name}}', [peer.instanceId], {
      EnableParameter: true,
      Parameters: JSON.stringify({ name: 'first' }),
      KeepCommand: true,
      Name: 'modme',
    });
    const before = (await h.pop.call('DescribeInvocations', { InvokeId: id })).Invocations.Invocation[0];
    const same = await h.pop.call('ModifyInvocationAttribute', {
      InvokeId: id,
      Parameters: JSON.stringify({ name: 'second' }),
    });
    assert.equal(same.CommandId, before.CommandId, 'parameters alone keep the command');
    const changed = await h.ecs.call('modifyInvocationAttribute', {
      regionId: 'cn-local',
      invokeId: id,
      commandContent: 'echo new {{name}}',
      contentEncoding: 'PlainText',
    });
    assert.notEqual(changed.commandId, before.CommandId, 'new content is a new command');
    const kept = await h.pop.call('DescribeCommands', { CommandId: changed.commandId, ContentEncoding: 'PlainText' });
    assert.equal(kept.Commands.Command[0].CommandContent, 'echo new {{name}}');
    const inv = (await h.pop.call('DescribeInvocations', { InvokeId: id, ContentEncoding: 'PlainText' })).Invocations
      .Invocation[0];
    assert.equal(inv.CommandContent, 'echo new second');
    assert.equal(inv.CommandId, changed.commandId);
    const got = await peer.fetch(fetchQuery(id));
    const task = (got.json['run'] as { task: { commandContent: string; commandId: string } }[])[0]!.task;
    assert.equal(text(task.commandContent), 'echo new second');
    assert.equal(task.commandId, changed.commandId);

    const s = await snapshot(h);
    const cases: [string, () => Promise<unknown>][] = [
      [
        'InvalidOperation.InvocationNotModifiable',
        () => h.pop.call('ModifyInvocationAttribute', { InvokeId: id, CommandContent: 'echo x' }),
      ],
      [
        'InvalidOperation.InvocationNotModifiable',
        () => h.pop.call('ModifyInvocationAttribute', { InvokeId: id, Frequency: 'rate(5m)' }),
      ],
      [
        'InvalidOperation.InvocationNotModifiable',
        () => h.pop.call('ModifyInvocationAttribute', { InvokeId: id, 'InstanceId.1': offline }),
      ],
      [
        'InvalidInvokeId.NotFound',
        () => h.pop.call('ModifyInvocationAttribute', { InvokeId: 't-nope', CommandContent: 'x' }),
      ],
      ['InvalidInvokeId.NotFound', () => h.pop.call('StopInvocation', { InvokeId: 't-nope' })],
      ['MissingParameter', () => h.pop.call('StopInvocation', {})],
      ['InvalidInstanceId.NotFound', () => h.pop.call('StopInvocation', { InvokeId: id, 'InstanceId.1': offline })],
    ];
    for (const [want, call] of cases) {
      const e = await apiError(call());
      assert.equal(e.code, want, e.message);
    }
    assert.deepEqual(await snapshot(h), s);
    await h.pop.call('StopInvocation', { InvokeId: id });
  });
});
