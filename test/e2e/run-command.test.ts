// Issue 2's end-to-end path: a real control plane, a real agent registered through a real
// activation, commands through the official SDKs.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';

type Result = {
  InvocationStatus: string;
  InvokeRecordStatus: string;
  ExitCode?: number;
  Output: string;
  Dropped: number;
  ErrorCode: string;
  ErrorInfo: string;
  StartTime: string;
  FinishedTime: string;
};

describe('run a command end to end', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup);
    agent = await startAgent(cleanup, h, { instanceName: 'e2e-box' });
  });

  /** RunCommand through the ACS3 SDK, then poll results through the v1 SDK until the record ends. */
  async function run(content: string, extra: Record<string, unknown> = {}): Promise<Result> {
    const r = await h.ecs.call('runCommand', {
      regionId: 'cn-local',
      type: 'RunShellScript',
      commandContent: content,
      instanceId: [agent.instanceId],
      ...extra,
    });
    assert.match(r.invokeId, /^t-/);
    assert.match(r.commandId, /^c-/);
    const body = await eventually(() => h.pop.call('DescribeInvocationResults', { InvokeId: r.invokeId }), {
      until: (x) =>
        ['Finished', 'Failed', 'Stopped'].includes(
          x.Invocation.InvocationResults.InvocationResult[0]?.InvokeRecordStatus,
        ),
      timeoutMs: 30_000,
      what: `invocation ${r.invokeId} to end`,
    });
    return body.Invocation.InvocationResults.InvocationResult[0] as Result;
  }
  const text = (r: Result) => Buffer.from(r.Output, 'base64').toString('utf8');

  it('runs echo hello and returns its output and exit code 0', async () => {
    const r = await run('echo hello');
    assert.equal(r.InvokeRecordStatus, 'Finished');
    assert.equal(r.InvocationStatus, 'Success');
    assert.equal(r.ExitCode, 0);
    assert.equal(text(r), 'hello\n');
    assert.ok(Date.parse(r.StartTime) <= Date.parse(r.FinishedTime));
  });

  it('reports a non-zero exit as Finished with its exit code', async () => {
    const r = await run('echo oops >&2; exit 7');
    assert.equal(r.InvokeRecordStatus, 'Finished');
    assert.equal(r.InvocationStatus, 'Failed');
    assert.equal(r.ErrorCode, 'ExitCodeNonzero');
    assert.equal(r.ExitCode, 7);
    assert.equal(text(r), 'oops\n');
  });

  it('stops a command at its timeout: Failed / ExecutionTimeout, and the process is gone', async () => {
    const marker = `oca-timeout-${Date.now()}`;
    const started = Date.now();
    // The marker rides on a grandchild shell, so this also proves the whole tree is killed.
    const r = await run(`echo started; sh -c 'sleep 300; echo ${marker}'`, { timeout: 10 });
    assert.equal(r.InvokeRecordStatus, 'Failed');
    assert.equal(r.InvocationStatus, 'Timeout');
    assert.equal(r.ErrorCode, 'ExecutionTimeout');
    assert.ok(Date.now() - started < 25_000, 'the timeout ended the run');
    assert.equal(text(r), 'started\n');
    const { execFileSync } = await import('node:child_process');
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    assert.ok(!ps.includes(marker), 'the timed-out script left no process behind');
  });

  it('keeps the tail of a 2 MB output and counts what it dropped', async () => {
    const r = await run("head -c 2000000 /dev/zero | tr '\\0' 'x'; echo; echo THE-END");
    assert.equal(r.InvocationStatus, 'Success');
    const out = text(r);
    assert.ok(out.endsWith('THE-END\n'), 'the tail is kept');
    assert.ok(out.length <= 24 * 1024, `at most 24 KB kept, got ${out.length}`);
    assert.equal(r.Dropped + out.length, 2_000_000 + 1 + 8, 'kept + dropped = everything the script printed');
  });

  it('passes custom parameters, and runs PlainText and Base64 content alike', async () => {
    const r = await run(Buffer.from('echo "{{greeting}}, $(whoami)"').toString('base64'), {
      contentEncoding: 'Base64',
      enableParameter: true,
      parameters: { greeting: 'hi; not-a-command' },
    });
    assert.equal(text(r), 'hi; not-a-command, root\n');
  });

  it('shows the instance as online with its agent version and OS', async () => {
    const s = await h.ecs.call('describeCloudAssistantStatus', {
      regionId: 'cn-local',
      instanceId: [agent.instanceId],
    });
    const st = s.instanceCloudAssistantStatusSet.instanceCloudAssistantStatus[0];
    assert.equal(st.cloudAssistantStatus, 'true');
    assert.equal(st.cloudAssistantVersion, '2.6.0.1');
    assert.equal(st.OSType, 'Linux');
    const m = await h.ecs.call('describeManagedInstances', { regionId: 'cn-local', instanceId: [agent.instanceId] });
    assert.equal(m.instances[0].instanceName, 'e2e-box');
    assert.equal(m.instances[0].connected, true);
    assert.equal(m.instances[0].osType, 'linux');
  });

  it('lists invocations with the aggregated status', async () => {
    const d = await h.pop.call('DescribeInvocations', {
      InstanceId: agent.instanceId,
      PageSize: 50,
      IncludeOutput: true,
    });
    assert.ok(d.TotalCount >= 4);
    const statuses = new Set<string>(
      d.Invocations.Invocation.map((i: { InvocationStatus: string }) => i.InvocationStatus),
    );
    assert.ok(statuses.has('Finished') && statuses.has('Failed'), `got ${[...statuses].join(',')}`);
  });

  it('fails a command to an offline instance with ClientNotOnline', async () => {
    await agent.stop();
    await eventually(() => !h.cp.gateway.isConnected(agent.instanceId), { what: 'the agent to disconnect' });
    const r = await run('echo never');
    assert.equal(r.InvokeRecordStatus, 'Failed');
    assert.equal(r.ErrorCode, 'ClientNotOnline');
    const s = await h.pop.call('DescribeCloudAssistantStatus', { 'InstanceId.1': agent.instanceId });
    assert.equal(s.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus[0].CloudAssistantStatus, 'false');
    // Back online, the agent runs commands again.
    await agent.start();
    assert.equal(text(await run('echo back')), 'back\n');
  });
});
