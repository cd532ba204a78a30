// Two control-plane nodes on one PostgreSQL behind Debian's nginx (deploy/nginx-stream.conf), with
// real agents connected through the load balancer: work created on node A reaches agents whose
// notify socket node B holds (a kick through LISTEN/NOTIFY), and when node B is SIGKILLed mid-run
// its agents reconnect to A, finish and report every result exactly once, and take new work.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { HttpClient } from '../../agent/http/index.js';
import { LubanPath } from '../../protocol/index.js';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually, SLACK_MS } from '../harness/eventually.js';
import { startNginx } from '../harness/nginx.js';
import { freePort } from '../harness/ports.js';
import { createTestDatabase } from '../harness/postgres.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

interface Result {
  InstanceId: string;
  InvokeRecordStatus: string;
  InvocationStatus: string;
  Output: string;
  ExitCode?: number;
  Repeats: number;
}

describe('a cluster of two nodes on PostgreSQL behind nginx', { timeout: 300_000 }, () => {
  const cleanup = suiteCleanup();
  let a: TestControlPlane;
  let nodeB: ChildProcess;
  let nodeBHost: string;
  let lb: TestControlPlane;
  const agents: TestAgent[] = [];

  /** The node whose presence row holds the agent's notify socket now (undefined: none). */
  const holderOf = async (instanceId: string): Promise<string | undefined> =>
    (
      await a.cp.db
        .selectFrom('agent_presence')
        .select('node_id')
        .where('instance_id', '=', instanceId)
        .where('lease_until', '>', Date.now())
        .executeTakeFirst()
    )?.node_id;

  before(async () => {
    const db = await createTestDatabase();
    cleanup.after(() => db.drop());
    const dataDir = mkdtempSync(join(tmpdir(), 'oca-cluster-'));
    cleanup.after(() => rmSync(dataDir, { recursive: true, force: true }));
    // Node A in this process (it creates the CA, certificate and master key every node shares).
    a = await startControlPlane(cleanup, { dataDir, database: db.url });
    // Node B: the real server program, a process of its own that the test can SIGKILL.
    const portB = await freePort();
    nodeBHost = `127.0.0.1:${portB}`;
    nodeB = spawn(
      process.execPath,
      [
        '--import',
        TSX,
        join(ROOT, 'bin', 'assist-server.ts'),
        'start',
        '--data-dir',
        dataDir,
        '--database',
        db.url,
        '--host',
        '127.0.0.1',
        '--port',
        String(portB),
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderrB = '';
    nodeB.stderr!.on('data', (d: Buffer) => (stderrB += d.toString()));
    cleanup.after(() => nodeB.kill('SIGKILL'));
    const probe = new HttpClient({ userAgent: 'test', caPem: readFileSync(a.caPath, 'utf8') });
    cleanup.after(() => probe.close());
    await eventually(
      async () =>
        (await probe.request({ method: 'GET', url: `https://${nodeBHost}${LubanPath.connectionDetect}` })).status ===
        200,
      { what: `node B to listen (${stderrB})` },
    );
    // The load balancer first knows node B alone, so the first agents' sockets are surely held by
    // B; then both nodes, as deployed, so that B's agents can reconnect to A when B dies.
    const nginx = await startNginx(cleanup, [nodeBHost]);
    // Agents dial the load balancer; operators call node A directly.
    lb = { ...a, hostPort: nginx.hostPort };
    const start = async (i: number) =>
      agents.push(
        await startAgent(cleanup, lb, {
          instanceName: `cluster-${i}`,
          isConnected: async (id) => (await holderOf(id)) !== undefined,
        }),
      );
    await start(0);
    await start(1);
    await nginx.reload([a.hostPort, nodeBHost]);
    await start(2);
    const holders = await Promise.all(agents.map((x) => holderOf(x.instanceId)));
    assert.ok(
      holders.slice(0, 2).every((h) => h !== undefined && h !== a.cp.nodeId),
      `the first agents are not held by node B: ${holders.join(',')}\n${nginx.errorLog().slice(-3000)}\n${stderrB}`,
    );
  });

  async function runOnAll(script: string): Promise<string> {
    const r = await a.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: script,
      ...Object.fromEntries(agents.map((x, i) => [`InstanceId.${i + 1}`, x.instanceId])),
    });
    return r.InvokeId as string;
  }

  const results = async (invokeId: string): Promise<Result[]> =>
    (await a.pop.call('DescribeInvocationResults', { InvokeId: invokeId, PageSize: 50 })).Invocation.InvocationResults
      .InvocationResult as Result[];

  const text = (r: Result) => Buffer.from(r.Output, 'base64').toString('utf8');

  it('runs a command sent to node A on agents that node B holds', async () => {
    const invokeId = await runOnAll('echo "ran on $(hostname)"');
    const done = await eventually(() => results(invokeId), {
      until: (rs) => rs.length === agents.length && rs.every((r) => r.InvokeRecordStatus === 'Finished'),
      what: `every agent to finish ${invokeId}`,
    });
    for (const r of done) {
      assert.equal(r.InvocationStatus, 'Success', r.InstanceId);
      assert.match(text(r), /^ran on /);
    }
  });

  it('loses nothing when node B is SIGKILLed mid-run, and its agents take new work through node A', async () => {
    const invokeId = await runOnAll('sleep 4; echo done');
    await eventually(() => results(invokeId), {
      until: (rs) => rs.length === agents.length && rs.every((r) => r.InvokeRecordStatus === 'Running'),
      what: 'every agent to start the command',
    });
    nodeB.kill('SIGKILL');
    // Issued at once, while B's agents are still reconnecting: it must reach them all the same.
    const meanwhile = await runOnAll('echo meanwhile');
    // The agents of B reconnect through nginx to A (their reconnect backoff starts at 1 s).
    await eventually(
      async () => (await Promise.all(agents.map((x) => holderOf(x.instanceId)))).every((h) => h === a.cp.nodeId),
      { timeoutMs: 60_000 + SLACK_MS, what: 'every agent to be held by node A' },
    );
    const done = await eventually(() => results(invokeId), {
      until: (rs) => rs.every((r) => r.InvokeRecordStatus === 'Finished'),
      timeoutMs: 60_000 + SLACK_MS,
      what: `every agent to finish ${invokeId} after the node died`,
    });
    assert.equal(done.length, agents.length, 'one record per agent');
    for (const r of done) {
      assert.equal(r.InvocationStatus, 'Success', r.InstanceId);
      assert.equal(text(r), 'done\n', `output of ${r.InstanceId} arrived once`);
      assert.equal(r.ExitCode, 0);
    }
    const reached = await eventually(() => results(meanwhile), {
      until: (rs) => rs.length === agents.length && rs.every((r) => r.InvokeRecordStatus === 'Finished'),
      what: `every agent to finish ${meanwhile}, issued while node B's agents reconnected`,
    });
    assert.ok(reached.every((r) => r.InvocationStatus === 'Success' && text(r) === 'meanwhile\n'));
    const after = await runOnAll('echo after');
    const later = await eventually(() => results(after), {
      until: (rs) => rs.length === agents.length && rs.every((r) => r.InvokeRecordStatus === 'Finished'),
      what: `every agent to finish ${after}`,
    });
    assert.ok(later.every((r) => r.InvocationStatus === 'Success' && text(r) === 'after\n'));
  });
});
