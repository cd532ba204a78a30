// Benchmark: assist_daemon's own idle RSS, how fast it brings a SIGKILLed agent back, and the agent's
// peak RSS under bursts of commands (what the watchdog's default memory budget must leave room for).
// The watchdog is bin/assist-daemon.ts bundled as the build does; the agent is dist/aliyun-service.cjs;
// the control plane runs in this process. Prints figures; never pass/fail.
// Usage: npx tsx scripts/build.ts && npx tsx bench/watchdog.ts [idleSeconds=30] [kills=5]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { readStatusFile } from '../agent/watchdog/index.js';
import { buildServer } from '../control-plane/index.js';
import { EcsClient, PopClient } from '../test/harness/sdk.js';

const idleSeconds = Number(process.argv[2] ?? 30);
const kills = Number(process.argv[3] ?? 5);
const ROOT = join(import.meta.dirname, '..');
const AGENT = join(ROOT, 'dist', 'aliyun-service.cjs');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (pid: number, key: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'oca-bench-wd-'));
const daemonJs = join(dir, 'assist_daemon.cjs');
await build({
  absWorkingDir: ROOT,
  entryPoints: ['bin/assist-daemon.ts'],
  outfile: daemonJs,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  banner: { js: "const __import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  define: {
    'import.meta.url': '__import_meta_url',
    'import.meta.dirname': '__dirname',
    'import.meta.filename': '__filename',
  },
  logLevel: 'warning',
});

const cp = await buildServer({ dataDir: join(dir, 'server'), silent: true });
const { port } = await cp.start();
const key = await cp.keys.create('bench');
const hostPort = `127.0.0.1:${port}`;
const pop = new PopClient(hostPort, key, cp.tls.caCertPath!);
const ecs = new EcsClient(hostPort, key, cp.tls.caCertPath!);
const env = {
  ...process.env,
  ALIYUN_ASSIST_SERVER_HOST: hostPort,
  ALIYUN_ASSIST_CERT_PATH: cp.tls.caCertPath!,
  ALIYUN_ASSIST_INSTALL_DIR: join(dir, 'agent'),
};
const act = await pop.call('CreateActivation', { InstanceCount: 1 });
const reg = spawn(
  process.execPath,
  [AGENT, '--register', '-R', 'cn-local', '-C', act.ActivationCode, '-I', act.ActivationId],
  { env },
);
let regOut = '';
reg.stdout.on('data', (d: Buffer) => (regOut += d.toString()));
await new Promise((r) => reg.on('close', r));
const instanceId = /instance id: (\S+)/.exec(regOut)![1]!;

const stateDir = join(dir, 'assist-daemon');
const statusFile = join(stateDir, 'status.json');
// Production defaults except the agent path (and a backoff reset short enough to time every kill alike).
const daemon = spawn(
  process.execPath,
  [daemonJs, '--start', '--state-dir', stateDir, '--agent', process.execPath, '--agent-arg', AGENT],
  { env: { ...env, ASSIST_DAEMON_BACKOFF_RESET_MS: '0' }, stdio: 'ignore' },
);
const agentPid = async (notPid?: number): Promise<{ pid: number; at: number }> => {
  for (;;) {
    const a = readStatusFile(statusFile)?.agent;
    if (a && a.pid !== notPid) {
      return { pid: a.pid, at: performance.now() };
    }
    await sleep(5);
  }
};
const connected = async (): Promise<number> => {
  while (!cp.gateway.isConnected(instanceId)) {
    await sleep(5);
  }
  return performance.now();
};

let { pid } = await agentPid();
await connected();
await sleep(idleSeconds * 1000);
const daemonIdleRss = mib(daemon.pid!, 'VmRSS');
const agentIdleRss = mib(pid, 'VmRSS');

const toProcess: number[] = [];
const toConnected: number[] = [];
for (let i = 0; i < kills; i++) {
  const t0 = performance.now();
  process.kill(pid, 'SIGKILL');
  while (cp.gateway.isConnected(instanceId)) {
    await sleep(5);
  }
  const next = await agentPid(pid);
  toProcess.push(next.at - t0);
  toConnected.push((await connected()) - t0);
  pid = next.pid;
  await sleep(500);
}

async function burst(command: string, concurrency: number, rounds: number): Promise<number> {
  for (let r = 0; r < rounds; r++) {
    const runs = await Promise.all(
      Array.from({ length: concurrency }, () =>
        ecs.call('runCommand', {
          regionId: 'cn-local',
          type: 'RunShellScript',
          commandContent: command,
          instanceId: [instanceId],
        }),
      ),
    );
    for (const run of runs) {
      for (;;) {
        const res = await pop.call('DescribeInvocationResults', { InvokeId: run.invokeId });
        const st = res.Invocation.InvocationResults.InvocationResult[0]?.InvokeRecordStatus;
        if (st === 'Finished' || st === 'Failed') {
          break;
        }
        await sleep(50);
      }
    }
  }
  return mib(pid, 'VmHWM');
}
const peakSmall = await burst('seq 1 20000', 10, 10);
const peakLarge = await burst('seq 1 200000', 30, 3);
await sleep(15_000);
const afterBurst = mib(pid, 'VmRSS');
const statusAfter = readStatusFile(statusFile);

daemon.kill('SIGTERM');
await new Promise((r) => daemon.once('exit', r));
await cp.close();
rmSync(dir, { recursive: true, force: true });

const ms = (xs: number[]) =>
  `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
console.log(`watchdog idle RSS, ${idleSeconds} s after the agent connected: ${daemonIdleRss.toFixed(1)} MiB`);
console.log(`agent idle RSS at the same time: ${agentIdleRss.toFixed(1)} MiB`);
console.log(`SIGKILL → new agent process (${kills} kills): ${ms(toProcess)}`);
console.log(`SIGKILL → agent connected again: ${ms(toConnected)}`);
console.log(
  `agent peak RSS, 10 rounds × 10 concurrent \`seq 1 20000\` (109 KiB output each): ${peakSmall.toFixed(1)} MiB`,
);
console.log(
  `agent peak RSS, then 3 rounds × 30 concurrent \`seq 1 200000\` (1.3 MiB each): ${peakLarge.toFixed(1)} MiB`,
);
console.log(`agent RSS 15 s after the bursts: ${afterBurst.toFixed(1)} MiB`);
console.log(`watchdog restarts besides the kills: ${(statusAfter?.restarts ?? 0) - kills}`);
