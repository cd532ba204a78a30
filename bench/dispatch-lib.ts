// Shared setup of the dispatch benchmarks: an in-process control plane and agents that are the
// shipped bundle (dist/aliyun-service.cjs) as separate processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../protocol/index.js';
import { buildServer, type ControlPlane } from '../control-plane/index.js';
import { PopClient } from '../test/harness/sdk.js';

export const ROOT = join(import.meta.dirname, '..');
export const AGENT = join(ROOT, 'dist', 'aliyun-service.cjs');

export const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Milliseconds of each of `n` sequential calls, after one call to warm up; in call order. */
export async function timedCalls(n: number, call: () => Promise<unknown>): Promise<number[]> {
  await call();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await call();
    ms.push(performance.now() - s);
  }
  return ms;
}
export const rssMiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
/** CPU seconds a process has used so far (user + system, from /proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
export const machine = (): string => `${cpus().length} × ${cpus()[0]?.model}, node ${process.version}`;

export interface Bench {
  cp: ControlPlane;
  api: PopClient;
  hostPort: string;
  dir: string;
  /** Called for every report the control plane applies (monkey-patched onto the service: benchmarks only). */
  onReport: (fn: (instanceId: string, r: Report) => void) => void;
  startAgent(name: string): Promise<{ instanceId: string; proc: ChildProcess; connectMs: number }>;
  close(): Promise<void>;
}

export async function startBench(): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'oca-bench-'));
  const cp = await buildServer({ dataDir: join(dir, 'server'), silent: true });
  const { port } = await cp.start();
  const key = await cp.keys.create('bench');
  const hostPort = `127.0.0.1:${port}`;
  const api = new PopClient(hostPort, key, cp.tls.caCertPath!);
  const listeners: ((instanceId: string, r: Report) => void)[] = [];
  const apply = cp.invocations.applyReport.bind(cp.invocations);
  cp.invocations.applyReport = async (instanceId, report, body, nowMs) => {
    const out = await apply(instanceId, report, body, nowMs);
    for (const l of listeners) {
      l(instanceId, report);
    }
    return out;
  };
  const agents: ChildProcess[] = [];

  async function startAgent(name: string) {
    const env = {
      ...process.env,
      ALIYUN_ASSIST_SERVER_HOST: hostPort,
      ALIYUN_ASSIST_CERT_PATH: cp.tls.caCertPath!,
      ALIYUN_ASSIST_INSTALL_DIR: join(dir, name),
    };
    const act = await api.call('CreateActivation', { InstanceCount: 1 });
    const reg = spawn(
      process.execPath,
      [AGENT, '--register', '-R', 'cn-local', '-C', act.ActivationCode, '-I', act.ActivationId],
      { env },
    );
    let out = '';
    reg.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => reg.on('close', r));
    const instanceId = /instance id: (\S+)/.exec(out)?.[1];
    if (!instanceId) {
      throw new Error(`register failed: ${out}`);
    }
    // AGENT_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") reaches the agent processes.
    const flags = (process.env['AGENT_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
    const proc = spawn(process.execPath, [...flags, AGENT], { env, stdio: 'ignore' });
    agents.push(proc);
    const t0 = Date.now();
    while (!cp.gateway.isConnected(instanceId)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return { instanceId, proc, connectMs: Date.now() - t0 };
  }

  return {
    cp,
    api,
    hostPort,
    dir,
    onReport: (fn) => listeners.push(fn),
    startAgent,
    async close() {
      await Promise.all(
        agents.map(
          (a) =>
            new Promise((r) => {
              if (a.exitCode !== null || a.signalCode !== null) {
                return r(undefined);
              }
              a.once('exit', r);
              a.kill('SIGTERM');
            }),
        ),
      );
      await cp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
