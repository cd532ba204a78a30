// The stock agent's exact message sequences (spec/luban-protocol.md §0, §5.5–5.7), replayed by hand
// against a real control plane with a registered, signing identity, and the state each leaves
// visible through the operator API. Queries are written out literally, in the stock key order and
// escaping, rather than built by our own protocol code.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { connectStockPeer, type StockPeer } from '../harness/stock-peer.js';

type Result = {
  InvocationStatus: string;
  InvokeRecordStatus: string;
  ExitCode?: number;
  ErrorCode: string;
  ErrorInfo: string;
  Output: string;
  Dropped: number;
  StartTime: string;
  FinishedTime: string;
  StopTime: string;
};
type Entry = { task: Record<string, unknown> & { taskID: string }; output: Record<string, unknown>; repeat: string };

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const bytes = (b64: string) => Buffer.from(b64, 'base64');

describe('stock agent message sequences', () => {
  let h: TestControlPlane;
  let peer: StockPeer;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup, { accountId: '1234567890' });
    peer = await connectStockPeer(cleanup, h);
  });

  const run = async (content: string, extra: Record<string, unknown> = {}) =>
    (
      await h.pop.call('RunCommand', {
        Type: 'RunShellScript',
        CommandContent: content,
        'InstanceId.1': peer.instanceId,
        ...extra,
      })
    ).InvokeId as string;
  const result = async (id: string): Promise<Result> =>
    (await h.pop.call('DescribeInvocationResults', { InvokeId: id })).Invocation.InvocationResults.InvocationResult[0];
  const invocationStatus = async (id: string): Promise<string> =>
    (await h.pop.call('DescribeInvocations', { InvokeId: id })).Invocations.Invocation[0].InvocationStatus;
  /** The kick, then the stock targeted fetch: its one `run` entry. */
  const kickAndFetch = async (id: string, action: 'run' | 'stop' = 'run') => {
    await peer.kicked(`kick_vm task ${action} ${id}`);
    const r = await peer.fetch(
      `reason=kickoff&taskId=${id}&currentTime=${Date.now()}&offset=28800&timeZone=Asia%2FShanghai`,
    );
    assert.equal(r.status, 200);
    return r.json as { code: number; instanceId: string; run: Entry[]; stop: Entry[] } & Record<string, unknown>;
  };

  it('§0 RunCommand: kick, fetch, empty start report, output chunks, finish with exitCode and dropped', async () => {
    const id = await run('echo hello', { Name: 'greet' });
    const list = await kickAndFetch(id);
    assert.equal(list.code, 200);
    assert.equal(list.instanceId, peer.instanceId);
    for (const k of ['stop', 'test', 'file', 'session']) {
      assert.deepEqual(list[k], [], k);
    }
    assert.equal(list.run.length, 1);
    const e = list.run[0]!;
    assert.deepEqual(Object.keys(e), ['task', 'output', 'repeat'], 'output and repeat are siblings of task');
    assert.equal(e.repeat, 'Once');
    const invocation = (await h.pop.call('DescribeInvocations', { InvokeId: id })).Invocations.Invocation[0];
    const { creationTime, builtInParameter, ...task } = e.task as Record<string, unknown>;
    assert.deepEqual(task, {
      taskID: id,
      invokeVersion: 0,
      type: 'RunShellScript',
      commandId: invocation.CommandId,
      commandName: 'greet',
      commandContent: Buffer.from('echo hello').toString('base64'),
      workingDirectory: '',
      timeOut: '60',
      cron: '',
      username: '',
      windowsPasswordName: '',
      enableParameter: false,
    });
    const { InstanceName, ...builtIns } = builtInParameter as Record<string, string>;
    assert.deepEqual(builtIns, {
      InstanceId: peer.instanceId,
      RegionId: 'cn-local',
      AccountId: '1234567890',
      CommandId: invocation.CommandId,
      InvokeId: id,
    });
    assert.ok(InstanceName, 'a non-empty InstanceName: an empty one sends the stock agent to the metadata server');
    assert.equal(Math.floor((creationTime as number) / 1000) * 1000, Date.parse(invocation.CreationTime));
    assert.ok((e.output['interval'] as number) >= 1000);
    assert.equal(e.output['sendStart'], true);
    assert.equal((await result(id)).InvocationStatus, 'Pending');

    const start = Date.now() - 50;
    assert.equal((await peer.report('running', `taskId=${id}&invokeVersion=0&start=${start}`)).status, 200);
    let r = await result(id);
    assert.deepEqual([r.InvocationStatus, r.InvokeRecordStatus, r.StartTime], ['Running', 'Running', iso(start)]);
    assert.equal(await invocationStatus(id), 'Running');
    // Chunks are raw bytes and may split a UTF-8 character.
    const cafe = Buffer.from('café\n');
    await peer.report('running', `taskId=${id}&invokeVersion=0&start=${start}`, cafe.subarray(0, 4));
    await peer.report('running', `taskId=${id}&invokeVersion=0&start=${start}`, cafe.subarray(4));
    assert.equal(bytes((await result(id)).Output).toString('utf8'), 'café\n');

    const end = start + 1234;
    const fin = `taskId=${id}&invokeVersion=0&start=${start}&end=${end}&exitCode=0&dropped=3`;
    assert.equal((await peer.report('finish', fin, 'bye\n')).status, 200);
    r = await result(id);
    assert.deepEqual(
      [r.InvocationStatus, r.InvokeRecordStatus, r.ExitCode, r.Dropped, r.ErrorCode, r.FinishedTime],
      ['Success', 'Finished', 0, 3, '', iso(end)],
    );
    assert.equal(bytes(r.Output).toString('utf8'), 'café\nbye\n');
    assert.equal(await invocationStatus(id), 'Finished');
    // The stock agent retries a final report: a repeat changes nothing.
    await peer.report('finish', `taskId=${id}&invokeVersion=0&start=${start}&end=${end + 5}&exitCode=9&dropped=0`, 'x');
    assert.deepEqual(await result(id), r);
    // Once reported, the task is no longer handed out.
    const again = await peer.fetch(`reason=kickoff&currentTime=${Date.now()}&offset=28800&timeZone=Asia%2FShanghai`);
    assert.ok(!(again.json['run'] as Entry[]).some((x) => x.task.taskID === id));
  });

  it('§5.1 startup fetch hands out what is pending; a non-zero exit and a timeout end as documented', async () => {
    const exit7 = await run('exit 7', { WindowsPasswordName: 'axtSecretPassword', Username: 'root' });
    const slow = await run('sleep 999', { Timeout: 10 });
    const startup = await peer.fetch(
      `reason=startup&cold_start=true&currentTime=${Date.now()}&offset=28800&timeZone=Asia%2FShanghai`,
    );
    const ids = (startup.json['run'] as Entry[]).map((x) => x.task.taskID);
    assert.ok(ids.includes(exit7) && ids.includes(slow), ids.join(','));
    assert.equal((startup.json['run'] as Entry[]).find((x) => x.task.taskID === slow)!.task['timeOut'], '10');
    const e7 = (startup.json['run'] as Entry[]).find((x) => x.task.taskID === exit7)!.task;
    assert.deepEqual([e7['windowsPasswordName'], e7['username']], ['axtSecretPassword', 'root']);
    const t = Date.now();
    await peer.report('finish', `taskId=${exit7}&invokeVersion=0&start=${t}&end=${t + 5}&exitCode=7&dropped=0`);
    const f = await result(exit7);
    assert.deepEqual(
      [f.InvocationStatus, f.InvokeRecordStatus, f.ExitCode, f.ErrorCode],
      ['Failed', 'Finished', 7, 'ExitCodeNonzero'],
    );
    await peer.report(
      'timeout',
      `taskId=${slow}&invokeVersion=0&start=${t}&end=${t + 10_000}&exitCode=1&dropped=0`,
      'partial',
    );
    const s = await result(slow);
    assert.deepEqual(
      [s.InvocationStatus, s.InvokeRecordStatus, s.ErrorCode],
      ['Timeout', 'Failed', 'ExecutionTimeout'],
    );
    assert.equal(bytes(s.Output).toString(), 'partial');
  });

  it('§5.7 stop: kick, targeted fetch returns the same task under stop, stopped report with lowercase exitcode', async () => {
    const id = await run('sleep 300');
    const first = await kickAndFetch(id);
    const entry = first.run[0]!;
    const start = Date.now();
    await peer.report('running', `taskId=${id}&invokeVersion=0&start=${start}`);
    await peer.report('running', `taskId=${id}&invokeVersion=0&start=${start}`, 'tick\n');
    await h.pop.call('StopInvocation', { InvokeId: id });
    assert.equal((await result(id)).InvocationStatus, 'Stopping');
    assert.equal(await invocationStatus(id), 'Stopping');
    // Output still streaming in before the agent sees the stop keeps the record Stopping.
    await peer.report('running', `taskId=${id}&invokeVersion=0&start=${start}`, 'tock\n');
    assert.equal((await result(id)).InvocationStatus, 'Stopping');
    const list = await kickAndFetch(id, 'stop');
    assert.deepEqual(list.run, []);
    assert.deepEqual(list.stop, [entry], 'the same task object, with its original repeat');
    const end = start + 2500;
    const q = `taskId=${id}&invokeVersion=0&start=${start}&end=${end}&exitcode=0&dropped=0&result=killed`;
    assert.equal((await peer.report('stopped', q, 'last words\n')).status, 200);
    const r = await result(id);
    assert.deepEqual(
      [r.InvocationStatus, r.InvokeRecordStatus, r.StopTime, r.StartTime, r.ExitCode],
      ['Stopped', 'Stopped', iso(end), iso(start), 0],
    );
    assert.equal(bytes(r.Output).toString(), 'tick\ntock\nlast words\n');
    assert.equal(await invocationStatus(id), 'Stopped');
    // No finish follows a stop; one arriving anyway is ignored.
    await peer.report('finish', `taskId=${id}&invokeVersion=0&start=${start}&end=${end}&exitCode=0&dropped=0`);
    assert.equal((await result(id)).InvocationStatus, 'Stopped');
  });

  it('§5.7 stop of a task the agent does not know: the zero-valued stopped report', async () => {
    const id = await run('sleep 300');
    await kickAndFetch(id);
    await h.pop.call('StopInvocation', { InvokeId: id, 'InstanceId.1': peer.instanceId });
    const list = await kickAndFetch(id, 'stop');
    assert.equal(list.stop.length, 1);
    const before = Date.now();
    await peer.report('stopped', `taskId=${id}&invokeVersion=0&start=0&end=0&exitcode=0&dropped=0&result=killed`);
    const r = await result(id);
    assert.equal(r.InvocationStatus, 'Stopped');
    assert.equal(r.StartTime, '');
    assert.ok(Date.parse(r.StopTime) >= Math.floor(before / 1000) * 1000);
  });

  it('§5.5 invalid reports: param and value become the result error', async () => {
    const cases: [string, string, string, string][] = [
      [
        'UsernameOrPasswordInvalid',
        'UserInvalid_nobody-x%3A+user%3A+unknown+user+nobody-x',
        'UserNotExist',
        'UserInvalid_nobody-x: user: unknown user nobody-x',
      ],
      [
        'workingDirectory',
        'WorkingDirectoryNotExist%3A+%3Cnil%3E',
        'InvalidWorkingDir',
        'WorkingDirectoryNotExist: <nil>',
      ],
      ['TypeInvalid', 'TypeInvalid_RunPerlScript', 'InvalidCommandType', 'TypeInvalid_RunPerlScript'],
      [
        'InvalidEnvironmentParameter',
        'The+environment+parameter+Foo+is+invalid',
        'InvalidEnvironmentParameter',
        'The environment parameter Foo is invalid',
      ],
    ];
    for (const [param, value, code, info] of cases) {
      const id = await run('whoami', { Username: 'nobody-x' });
      await kickAndFetch(id);
      assert.equal(
        (await peer.report('invalid', `taskId=${id}&invokeVersion=0&param=${param}&value=${value}`)).status,
        200,
      );
      const r = await result(id);
      assert.deepEqual(
        [r.InvocationStatus, r.InvokeRecordStatus, r.ErrorCode, r.ErrorInfo],
        ['Invalid', 'Failed', code, info],
        param,
      );
      assert.notEqual(r.FinishedTime, '');
    }
  });

  it('§5.6 error reports: errCode and errDesc; InstanceRestarted and ScriptFileExisted apart', async () => {
    const cases: [string, string, string, RegExp][] = [
      [
        '-4',
        'SaveScriptFileFailed%3A+open+%2Fx%2Ft.sh%3A+no+space+left',
        'ExecutionException',
        /^SaveScriptFileFailed: open \/x\/t.sh: no space left$/,
      ],
      [
        '2',
        'ExecuteScriptFailed.NoSuchFileOrDirectory%3A+fork%2Fexec+%2Fbin%2Fsh',
        'ExecutionException',
        /^ExecuteScriptFailed\.NoSuchFileOrDirectory/,
      ],
      [
        '-13',
        'InstanceRestarted%3A+the+agent+restarted+while+the+task+ran',
        'InstanceRestarted',
        /^InstanceRestarted: the agent restarted/,
      ],
      [
        '-9',
        'ScriptFileExisted%3A+%2Fusr%2Flocal%2Fshare%2Faliyun-assist%2Fwork%2Fscript%2Ft-1.sh',
        'InstanceRestarted',
        /not run twice .*ScriptFileExisted/,
      ],
    ];
    for (const [errCode, errDesc, code, info] of cases) {
      const id = await run('true');
      await kickAndFetch(id);
      const q = `taskId=${id}&invokeVersion=0&start=0&end=0&exitCode=0&dropped=0&errCode=${errCode}&errDesc=${errDesc}`;
      assert.equal((await peer.report('error', q)).status, 200);
      const r = await result(id);
      assert.deepEqual([r.InvocationStatus, r.InvokeRecordStatus, r.ErrorCode], ['Error', 'Failed', code], errCode);
      assert.match(r.ErrorInfo, info);
      assert.equal(await invocationStatus(id), 'Failed');
    }
  });

  it('refuses a report without a taskId, and ignores reports on unknown tasks and on tasks of other instances', async () => {
    const bad = await peer.report('finish', 'invokeVersion=0&start=1&end=2&exitCode=0&dropped=0');
    assert.equal(bad.status, 400);
    const now = Date.now();
    const unknown = await peer.report(
      'finish',
      `taskId=t-unknown&invokeVersion=0&start=${now}&end=${now}&exitCode=0&dropped=0`,
    );
    assert.equal(unknown.status, 200);
    const other = await connectStockPeer(cleanup, h);
    const id = (
      await h.pop.call('RunCommand', {
        Type: 'RunShellScript',
        CommandContent: 'true',
        'InstanceId.1': other.instanceId,
      })
    ).InvokeId as string;
    await other.kicked(`kick_vm task run ${id}`);
    assert.deepEqual(
      (await peer.fetch(`reason=kickoff&taskId=${id}&currentTime=${now}&offset=0&timeZone=UTC`)).json['run'],
      [],
    );
    assert.equal(
      (await peer.report('finish', `taskId=${id}&invokeVersion=0&start=${now}&end=${now}&exitCode=0&dropped=0`)).status,
      200,
    );
    assert.equal((await result(id)).InvocationStatus, 'Pending', "one instance cannot end another's task");
  });
});
