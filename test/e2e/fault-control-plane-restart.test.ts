// Fault: the control plane goes away while 10 commands run, and comes back 30 s later on the same
// port and data directory. The real agent process keeps the commands' final reports in its outbox
// and delivers them once the server is back: every result arrives, each command ran exactly once.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startAgent } from '../harness/agent.js';
import { startControlPlane, type Cleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually, SLACK_MS } from '../harness/eventually.js';
import { PopClient } from '../harness/sdk.js';

/** Cleanups run by the test itself (a control plane is closed mid-test, so not by the harness). */
function ownCleanup(): Cleanup & { run(): Promise<void> } {
  const fns: (() => unknown)[] = [];
  return {
    after: (fn) => fns.push(fn),
    async run() {
      for (const fn of fns.splice(0).reverse()) {
        await fn();
      }
    },
  };
}

describe('fault: the control plane restarts while commands run', { timeout: 240_000 }, () => {
  it('delivers every result exactly once after the control plane is back', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'oca-fault-cp-'));
    const work = mkdtempSync(join(tmpdir(), 'oca-fault-runs-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });
    const firstCleanup = ownCleanup();
    const secondCleanup = ownCleanup();
    t.after(() => secondCleanup.run());
    t.after(() => firstCleanup.run());

    const first: TestControlPlane = await startControlPlane(firstCleanup, { dataDir });
    const port = Number(first.hostPort.split(':')[1]);
    const agent = await startAgent(t, first, { instanceName: 'fault-cp' });

    const ids: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const r = await first.pop.call('RunCommand', {
        Type: 'RunShellScript',
        CommandContent: `echo ${i} >> ${join(work, 'runs')}; sleep 5; echo n=${i}`,
        'InstanceId.1': agent.instanceId,
        Timeout: 120,
      });
      ids.push(r.InvokeId as string);
    }
    const statuses = async (api: PopClient) =>
      Promise.all(
        ids.map(async (id) => {
          const b = await api.call('DescribeInvocationResults', { InvokeId: id });
          return b.Invocation.InvocationResults.InvocationResult[0];
        }),
      );
    await eventually(() => statuses(first.pop), {
      until: (rs) => rs.every((r: { InvocationStatus: string }) => r.InvocationStatus === 'Running'),
      timeoutMs: 15_000,
      what: 'all 10 commands to run',
    });

    // Down while the commands run; they end (after 5 s) with nobody to report to.
    await firstCleanup.run();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 30_000));
    assert.equal(readFileSync(join(work, 'runs'), 'utf8').trim().split('\n').length, 10);
    const outbox = join(agent.installDir, 'state', 'outbox');
    assert.equal(readdirSync(outbox).length, 10, 'ten final reports wait on disk');

    const second = await startControlPlane(secondCleanup, { dataDir, port });
    // The first AccessKey is in the same store: one client works before and after the restart.
    const api = new PopClient(second.hostPort, first.key, second.caPath);
    const results = await eventually(() => statuses(api), {
      until: (rs) => rs.every((r: { InvokeRecordStatus: string }) => r.InvokeRecordStatus === 'Finished'),
      // After 30 s down the agent's reconnect backoff (1 s doubling, jittered, capped at 60 s) may
      // next try up to 60 s after the control plane is back; a loaded machine gets SLACK_MS more.
      timeoutMs: 60_000 + SLACK_MS,
      intervalMs: 250,
      what: 'all 10 results after the restart',
    });
    const backAfterMs = Date.now() - downAt - 30_000;
    results.forEach((r: { InvocationStatus: string; ExitCode: number; Output: string }, i: number) => {
      assert.equal(r.InvocationStatus, 'Success', `command ${i}`);
      assert.equal(r.ExitCode, 0);
      assert.equal(Buffer.from(r.Output, 'base64').toString(), `n=${i}\n`, `output of command ${i}, once`);
    });
    // Each command ran once: no re-delivery ran anything a second time.
    const runs = readFileSync(join(work, 'runs'), 'utf8')
      .trim()
      .split('\n')
      .map(Number)
      .sort((a, b) => a - b);
    assert.deepEqual(runs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const started = agent
      .log()
      .split('\n')
      .filter((l) => l.includes('"message":"task started"'));
    assert.equal(started.length, 10, 'the agent started each task once');
    await eventually(() => readdirSync(outbox).length === 0, { what: 'the outbox to empty' });
    t.diagnostic(`results arrived ${backAfterMs} ms after the control plane came back`);
  });
});
