// Issue 4, schedules end to end: a per-10-seconds cron invocation on the real agent runs again and
// again, each run its own record, the invocation Running all along; StopInvocation ends it and
// nothing runs afterwards. A malformed Frequency is refused through the official SDK with the
// precise code, and nothing is stored.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually, SLACK_MS } from '../harness/eventually.js';
import { apiError } from '../harness/sdk.js';

type Result = {
  InstanceId: string;
  InvocationStatus: string;
  InvokeRecordStatus: string;
  Repeats: number;
  ExitCode: number;
  Output: string;
  StartTime: string;
};

/** The cron schedule's period: the shortest the API accepts (`0/5 * * * * ?` is refused). */
const PERIOD_MS = 10_000;

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

describe('periodic invocations end to end', { timeout: 180_000 }, () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  let work: string;
  const cleanup = suiteCleanup();
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'oca-sched-'));
    cleanup.after(() => rmSync(work, { recursive: true, force: true }));
    h = await startControlPlane(cleanup);
    agent = await startAgent(cleanup, h, { instanceName: 'sched' });
  });

  const history = async (invokeId: string): Promise<Result[]> =>
    (await h.pop.call('DescribeInvocationResults', { InvokeId: invokeId, IncludeHistory: true, MaxResults: 50 }))
      .Invocation.InvocationResults.InvocationResult;
  const invocation = async (invokeId: string) =>
    (await h.pop.call('DescribeInvocations', { InvokeId: invokeId })).Invocations.Invocation[0];

  it('runs a cron schedule at least 3 times, each run its own record, until it is stopped', async () => {
    const runs = join(work, 'cron-runs');
    const { InvokeId: id } = await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: `echo run >> ${runs}; echo tick`,
      'InstanceId.1': agent.instanceId,
      RepeatMode: 'Period',
      Frequency: `0/${PERIOD_MS / 1000} * * * * ?`,
      Timeout: 10,
    });
    const first = await invocation(id);
    assert.equal(first.RepeatMode, 'Period');
    assert.equal(first.Frequency, '0/10 * * * * ?');
    assert.equal(first.Timed, true);
    assert.ok(['Scheduled', 'Running'].includes(first.InvocationStatus), first.InvocationStatus);

    const three = await eventually(() => history(id), {
      until: (rs) => rs.filter((r) => r.InvokeRecordStatus === 'Finished').length >= 3,
      // Three runs come within three periods; a loaded machine gets SLACK_MS more.
      timeoutMs: 3 * PERIOD_MS + SLACK_MS,
      intervalMs: 500,
      what: 'three finished runs',
    });
    // Each run is its own record, numbered, with its own start time and output.
    const done = three.filter((r) => r.InvokeRecordStatus === 'Finished');
    assert.ok(done.every((r) => r.InvocationStatus === 'Success' && r.ExitCode === 0));
    assert.ok(done.every((r) => Buffer.from(r.Output, 'base64').toString() === 'tick\n'));
    assert.equal(new Set(done.map((r) => r.StartTime)).size, done.length, 'distinct start times');
    const numbers = three.map((r) => r.Repeats).sort((a, b) => a - b);
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => i + 1),
      'runs numbered 1..n',
    );
    // The invocation and its execution on the instance stay Running between runs.
    const mid = await invocation(id);
    assert.equal(mid.InvocationStatus, 'Running');
    assert.ok(mid.InvokeInstances.InvokeInstance[0].Repeats >= 3);
    const latest = (await h.pop.call('DescribeInvocationResults', { InvokeId: id })).Invocation.InvocationResults
      .InvocationResult as Result[];
    assert.equal(latest.length, 1, 'one row per instance without IncludeHistory');
    assert.equal(latest[0]!.InvocationStatus, 'Running');

    await h.pop.call('StopInvocation', { InvokeId: id });
    await eventually(() => invocation(id), {
      until: (inv) => inv.InvocationStatus === 'Stopped',
      what: 'the invocation to be Stopped',
    });
    const atStop = lines(runs).length;
    const recordedAtStop = (await history(id)).length;
    // A full period and more: the agent dropped its timer, so nothing runs or is recorded again.
    await new Promise((r) => setTimeout(r, PERIOD_MS + 3_000));
    assert.equal(lines(runs).length, atStop, 'no run after the stop');
    assert.equal((await history(id)).length, recordedAtStop, 'no record after the stop');
    assert.equal(lines(runs).length, recordedAtStop, 'every run on the instance is recorded once');
    assert.equal((await invocation(id)).InvocationStatus, 'Stopped');
  });

  it('refuses a malformed Frequency through the official SDK with the precise code, storing nothing', async () => {
    const before = await h.cp.db.selectFrom('invocations').select('invoke_id').execute();
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['InvalidParameter.Frequency', { frequency: '0/5 * * * * ?', timeout: 10 }, /Frequency/],
      ['InvalidParameter.Frequency', { frequency: '0 0 25 * * ?', timeout: 10 }, /Frequency/],
      ['InvalidParameter.RateFrequency', { frequency: 'rate(30s)', timeout: 10 }, /Frequency.*60/],
      ['InvalidParameter.RateFrequency', { frequency: 'rate(2m)', timeout: 300 }, /timeout/],
      ['InvalidParameter.AtFrequency', { frequency: 'at(2001-01-01 00:00:00 UTC)', timeout: 10 }, /Frequency/],
      ['MissingParameter', { repeatMode: 'Period', timeout: 10 }, /Frequency/],
    ];
    for (const [code, fields, message] of cases) {
      const e = await apiError(
        h.ecs.call('runCommand', {
          regionId: 'cn-local',
          type: 'RunShellScript',
          commandContent: 'echo never',
          instanceId: [agent.instanceId],
          ...fields,
        }),
      );
      assert.equal(e.code, code, JSON.stringify(fields));
      assert.match(e.message, message, JSON.stringify(fields));
    }
    assert.deepEqual(await h.cp.db.selectFrom('invocations').select('invoke_id').execute(), before);
  });
});
