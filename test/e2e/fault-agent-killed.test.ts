// Fault: the agent process is killed (SIGKILL) while a command runs, then started again. The
// running journal it left makes the new process report the command as ended by the restart
// (ErrorCode InstanceRestarted) and kill what was left of it; nothing is run twice.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startAgent } from '../harness/agent.js';
import { startControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';

describe('fault: the agent is killed mid-task', { timeout: 90_000 }, () => {
  it('reports the task as InstanceRestarted after the restart, and leaves nothing running', async (t) => {
    const h = await startControlPlane(t);
    const agent = await startAgent(t, h, { instanceName: 'fault-kill' });
    const marker = `oca-fault-${randomBytes(4).toString('hex')}`;
    const { InvokeId: invokeId } = await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: `echo started; sh -c 'sleep 30; : ${marker}'; echo never`,
      'InstanceId.1': agent.instanceId,
      Timeout: 120,
    });
    const result = async () =>
      (await h.pop.call('DescribeInvocationResults', { InvokeId: invokeId })).Invocation.InvocationResults
        .InvocationResult[0];
    const running = await eventually(result, {
      until: (r) => r?.InvocationStatus === 'Running',
      what: 'the command to run',
    });
    const ps = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    assert.ok(ps().includes(marker), 'the task process runs');
    const journal = join(agent.installDir, 'state', 'running');
    assert.equal(readdirSync(journal).length, 1, 'the running task is journalled');

    const killedAt = Date.now();
    await agent.stop('SIGKILL');
    assert.ok(ps().includes(marker), 'the task outlives the killed agent');
    await agent.start();

    const r = await eventually(result, {
      until: (x) => x?.InvokeRecordStatus === 'Failed',
      timeoutMs: 20_000,
      what: 'the lost command to be reported',
    });
    assert.equal(r.InvocationStatus, 'Error');
    assert.equal(r.ErrorCode, 'InstanceRestarted');
    assert.equal(r.ErrorInfo, 'InstanceRestarted: the agent restarted while the task was running');
    assert.equal(r.StartTime, running.StartTime);
    assert.ok(Date.parse(r.FinishedTime) >= Math.floor(killedAt / 1000) * 1000);
    await eventually(() => !ps().includes(marker), { what: 'the leftover process to be killed' });
    assert.deepEqual(readdirSync(journal), []);
    assert.deepEqual(readdirSync(join(agent.installDir, 'state', 'outbox')), []);
    const log = agent.log();
    assert.equal(log.split('\n').filter((l) => l.includes('"message":"task started"')).length, 1, 'run once');
    assert.ok(log.includes('"message":"task lost by an agent restart"'));
  });
});
