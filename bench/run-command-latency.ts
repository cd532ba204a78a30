// Benchmark: time from RunCommand to Finished for `echo hello`, and the agent's idle RSS.
// Runs the built agent bundle (dist/aliyun-service.cjs, what ships) against an in-process control
// plane. Prints figures; never pass/fail.
// Usage: npx tsx scripts/build.ts && npx tsx bench/run-command-latency.ts [runs=100] [idleSeconds=60]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer } from '../control-plane/index.js';
import { PopClient } from '../test/harness/sdk.js';

const runs = Number(process.argv[2] ?? 100);
const idleSeconds = Number(process.argv[3] ?? 60);
const ROOT = join(import.meta.dirname, '..');
const AGENT = join(ROOT, 'dist', 'aliyun-service.cjs');

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

const dir = mkdtempSync(join(tmpdir(), 'oca-bench-'));
const cp = await buildServer({ dataDir: join(dir, 'server'), silent: true });
const { port } = await cp.start();
const key = await cp.keys.create('bench');
const hostPort = `127.0.0.1:${port}`;
const api = new PopClient(hostPort, key, cp.tls.caCertPath!);
const env = {
  ...process.env,
  ALIYUN_ASSIST_SERVER_HOST: hostPort,
  ALIYUN_ASSIST_CERT_PATH: cp.tls.caCertPath!,
  ALIYUN_ASSIST_INSTALL_DIR: join(dir, 'agent'),
};
const act = await api.call('CreateActivation', { InstanceCount: 1 });
const reg = spawn(
  process.execPath,
  [AGENT, '--register', '-R', 'cn-local', '-C', act.ActivationCode, '-I', act.ActivationId],
  { env },
);
let regOut = '';
reg.stdout.on('data', (d: Buffer) => (regOut += d.toString()));
await new Promise((r) => reg.on('close', r));
const instanceId = /instance id: (\S+)/.exec(regOut)![1]!;
// AGENT_NODE_FLAGS (e.g. "--max-semi-space-size=1") compares V8 settings for the agent process.
const agentFlags = (process.env['AGENT_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
const agent = spawn(process.execPath, [...agentFlags, AGENT], { env, stdio: 'ignore' });
const startedAt = Date.now();
while (!cp.gateway.isConnected(instanceId)) {
  await new Promise((r) => setTimeout(r, 10));
}
const connectMs = Date.now() - startedAt;

const latencies: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  let invokeId = '';
  const ended = new Promise<void>((resolve) => {
    const off = cp.invocations.onEnded((e) => {
      if (e.invokeId === invokeId || invokeId === '') {
        off();
        resolve();
      }
    });
  });
  invokeId = (
    await api.call('RunCommand', { Type: 'RunShellScript', CommandContent: 'echo hello', 'InstanceId.1': instanceId })
  ).InvokeId;
  await ended;
  latencies.push(performance.now() - t0);
}
latencies.sort((a, b) => a - b);
const check = await api.call('DescribeInvocations', { InstanceId: instanceId, PageSize: 1 });

await new Promise((r) => setTimeout(r, idleSeconds * 1000));
const idleRss = rssKb(agent.pid!);
agent.kill('SIGTERM');
await new Promise((r) => agent.on('exit', r));
await cp.close();
rmSync(dir, { recursive: true, force: true });

const f = (ms: number) => `${ms.toFixed(1)} ms`;
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}`);
console.log(`agent node flags: ${agentFlags.join(' ') || '(none)'}`);
console.log(`agent (dist bundle) start → notify channel connected: ${connectMs} ms`);
console.log(`RunCommand → Finished, echo hello, ${runs} sequential runs (API call to finish report applied):`);
console.log(
  `  median ${f(quantile(latencies, 0.5))}  p90 ${f(quantile(latencies, 0.9))}  p99 ${f(quantile(latencies, 0.99))}  min ${f(latencies[0]!)}  max ${f(latencies.at(-1)!)}`,
);
console.log(`  invocations recorded: ${check.TotalCount} (expected ${runs})`);
console.log(
  `agent idle RSS after ${idleSeconds} s: ${(idleRss / 1024).toFixed(1)} MiB (stock watchdog budget 50 MB → ${((idleRss / 1024 / 50) * 100).toFixed(0)} % of it)`,
);
