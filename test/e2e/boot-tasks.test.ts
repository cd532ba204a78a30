// Issue 4, boot-time tasks and restarts with a real agent: NextRebootOnly runs once after the next
// real boot and EveryReboot after every one, while a mere agent restart runs neither. A boot is
// simulated by removing the agent's boot marker (kept in a test directory instead of /dev/shm,
// which a reboot empties). A cron schedule keeps running across an agent restart, with every run
// on the instance recorded exactly once.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually, SLACK_MS } from '../harness/eventually.js';

type Result = { InvocationStatus: string; InvokeRecordStatus: string; Repeats: number; Output: string };

/** The cron schedule's period: the shortest the API accepts (`0/5 * * * * ?` is refused). */
const PERIOD_MS = 10_000;

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

describe('boot-time tasks and agent restarts end to end', { timeout: 300_000 }, () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  let work: string;
  let markerDir: string;
  const cleanup = suiteCleanup();
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'oca-boot-'));
    markerDir = mkdtempSync(join(tmpdir(), 'oca-boot-marker-'));
    cleanup.after(() => rmSync(work, { recursive: true, force: true }));
    cleanup.after(() => rmSync(markerDir, { recursive: true, force: true }));
    h = await startControlPlane(cleanup);
    agent = await startAgent(cleanup, h, { env: { ALIYUN_ASSIST_BOOT_MARKER_DIR: markerDir } });
  });

  const history = async (invokeId: string): Promise<Result[]> =>
    (await h.pop.call('DescribeInvocationResults', { InvokeId: invokeId, IncludeHistory: true, MaxResults: 50 }))
      .Invocation.InvocationResults.InvocationResult;
  const status = async (invokeId: string): Promise<string> =>
    (await h.pop.call('DescribeInvocations', { InvokeId: invokeId })).Invocations.Invocation[0].InvocationStatus;
  const restart = async (o: { boot: boolean }) => {
    await agent.stop();
    if (o.boot) {
      for (const f of readdirSync(markerDir)) {
        rmSync(join(markerDir, f)); // what a reboot does to /dev/shm
      }
    }
    await agent.start();
  };
  /**
   * Waits for `count` lines in `file`. `windowMs` is how long they may rightly take (0 for runs
   * due at once, like a fetch after a restart); the deadline adds slack for a loaded machine.
   */
  const settle = async (file: string, count: number, windowMs = 0) =>
    eventually(() => lines(file).length, {
      until: (n) => n >= count,
      timeoutMs: windowMs + SLACK_MS,
      what: `${count} runs in ${file}`,
    });

  it('NextRebootOnly runs once after the next boot, EveryReboot after every boot, neither on a restart', async () => {
    const once = join(work, 'next-reboot');
    const every = join(work, 'every-reboot');
    const create = async (mode: string, file: string) =>
      (
        await h.pop.call('RunCommand', {
          Type: 'RunShellScript',
          CommandContent: `echo "$(date +%s%N)" >> ${file}; echo booted`,
          'InstanceId.1': agent.instanceId,
          RepeatMode: mode,
        })
      ).InvokeId as string;
    // The agent's cold start in this boot may fetch after a task is created (a slow start), which
    // rightly runs it: restart it warm first, so the boot tasks wait for the next simulated boot.
    await restart({ boot: false });
    const onceId = await create('NextRebootOnly', once);
    const everyId = await create('EveryReboot', every);
    assert.equal(await status(onceId), 'Scheduled');
    assert.equal(await status(everyId), 'Scheduled');

    // Another warm restart runs neither.
    await restart({ boot: false });
    const probe = join(work, 'probe');
    await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: `echo x >> ${probe}`,
      'InstanceId.1': agent.instanceId,
    });
    await settle(probe, 1); // the agent fetched and ran work after the restart
    assert.deepEqual([lines(once).length, lines(every).length], [0, 0], 'nothing runs on a warm restart');

    await restart({ boot: true });
    await settle(once, 1);
    await settle(every, 1);
    await eventually(() => status(onceId), { until: (s) => s === 'Finished', what: 'NextRebootOnly to finish' });
    assert.equal(await status(everyId), 'Running', 'EveryReboot stays Running between boots');

    await restart({ boot: false });
    await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: `echo x >> ${probe}`,
      'InstanceId.1': agent.instanceId,
    });
    await settle(probe, 2);

    await restart({ boot: true });
    await settle(every, 2);
    assert.equal(lines(once).length, 1, 'NextRebootOnly ran exactly once');
    assert.equal(lines(every).length, 2, 'EveryReboot ran once per boot');
    const runs = await eventually(() => history(everyId), {
      until: (rs) => rs.filter((r) => r.InvokeRecordStatus === 'Finished').length === 2,
      what: 'two EveryReboot records',
    });
    assert.deepEqual(runs.map((r) => r.Repeats).sort(), [1, 2]);
    assert.ok(runs.every((r) => Buffer.from(r.Output, 'base64').toString() === 'booted\n'));

    await h.pop.call('StopInvocation', { InvokeId: everyId });
    await eventually(() => status(everyId), { until: (s) => s === 'Stopped', what: 'EveryReboot to stop' });
    await restart({ boot: true });
    await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: `echo x >> ${probe}`,
      'InstanceId.1': agent.instanceId,
    });
    await settle(probe, 3);
    assert.equal(lines(every).length, 2, 'a stopped EveryReboot does not run at the next boot');
  });

  it('a cron schedule goes on across an agent restart, each run recorded once', async () => {
    const file = join(work, 'cron');
    const { InvokeId: id } = await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: `echo run >> ${file}`,
      'InstanceId.1': agent.instanceId,
      RepeatMode: 'Period',
      Frequency: `0/${PERIOD_MS / 1000} * * * * ?`,
      Timeout: 10,
    });
    // Two runs come within two periods (the first may be almost a period away); a loaded machine
    // gets SLACK_MS more, so a run that lands just after a 10-second mark still counts.
    await settle(file, 2, 2 * PERIOD_MS);
    await restart({ boot: false });
    const afterRestart = lines(file).length;
    await settle(file, afterRestart + 2, 2 * PERIOD_MS);
    await h.pop.call('StopInvocation', { InvokeId: id });
    await eventually(() => status(id), { until: (s) => s === 'Stopped', what: 'Stopped' });
    const ran = lines(file).length;
    const records = await eventually(() => history(id), {
      until: (rs) => rs.filter((r) => r.InvokeRecordStatus === 'Finished').length >= ran,
      what: 'every run recorded',
    });
    const finished = records.filter((r) => r.InvokeRecordStatus === 'Finished');
    assert.equal(finished.length, ran, 'as many records as runs on the instance: none lost, none doubled');
    const numbers = records.map((r) => r.Repeats).sort((a, b) => a - b);
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => i + 1),
    );
  });
});
