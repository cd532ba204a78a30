// Runs the real agent (bin/aliyun-service.ts through tsx) as a child process against a test
// control plane: registers it with a real activation, then starts it and waits until it is online.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Cleanup, TestControlPlane } from './control-plane.js';
import { eventually } from './eventually.js';
import { runProcess } from './run-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const AGENT_ENTRY = join(ROOT, 'bin', 'aliyun-service.ts');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

export interface TestAgent {
  instanceId: string;
  installDir: string;
  env: Record<string, string>;
  process: ChildProcess | undefined;
  /** Starts (or restarts) the agent process and waits for it to connect. */
  start(): Promise<void>;
  /** Stops the agent process (SIGTERM, or the given signal) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  log(): string;
}

export function agentCommand(args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', TSX, AGENT_ENTRY, ...args] };
}

/** Runs the agent CLI to completion without blocking the event loop (the control plane may share it). */
export function runAgentCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const c = agentCommand(args);
  return runProcess(c.command, c.args, { env: { ...process.env, ...env }, timeoutMs: 60_000 });
}

/** `activation`: a code made elsewhere (the console, the CLI); without it one is created here. */
export interface RegisterOptions {
  instanceName?: string;
  activation?: { code: string; id: string };
}

export async function registerAgent(t: Cleanup, h: TestControlPlane, o: RegisterOptions = {}) {
  const installDir = mkdtempSync(join(tmpdir(), 'oca-agent-'));
  t.after(() => rmSync(installDir, { recursive: true, force: true }));
  const env = {
    ALIYUN_ASSIST_SERVER_HOST: h.hostPort,
    ALIYUN_ASSIST_CERT_PATH: h.caPath,
    ALIYUN_ASSIST_INSTALL_DIR: installDir,
  };
  const act = o.activation
    ? { ActivationCode: o.activation.code, ActivationId: o.activation.id }
    : await h.pop.call('CreateActivation', { InstanceCount: 1, TimeToLiveInHours: 1 });
  const r = await runAgentCli(
    [
      '--register',
      '--RegionId',
      'cn-local',
      '--ActivationCode',
      act.ActivationCode,
      '--ActivationId',
      act.ActivationId,
      ...(o.instanceName ? ['--InstanceName', o.instanceName] : []),
    ],
    env,
  );
  const m = /instance id: (\S+)/.exec(r.stdout);
  if (r.status !== 0 || !m) {
    throw new Error(`register failed (${r.status}): ${r.stdout} ${r.stderr}`);
  }
  return { instanceId: m[1]!, installDir, env };
}

export async function startAgent(
  t: Cleanup,
  h: TestControlPlane,
  o: RegisterOptions & {
    env?: Record<string, string>;
    /** Whether the agent is connected; default: `h`'s own gateway holds its socket (one node). */
    isConnected?: (instanceId: string) => boolean | Promise<boolean>;
  } = {},
): Promise<TestAgent> {
  const isConnected = o.isConnected ?? ((id: string) => h.cp.gateway.isConnected(id));
  const reg = await registerAgent(t, h, o);
  Object.assign(reg.env, o.env);
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  const agent: TestAgent = {
    ...reg,
    get process() {
      return child;
    },
    async start() {
      const c = agentCommand([]);
      child = spawn(c.command, c.args, { env: { ...process.env, ...reg.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      const proc = child;
      exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
      proc.stdout?.resume();
      proc.stderr?.resume();
      await eventually(() => isConnected(reg.instanceId), {
        timeoutMs: 30_000,
        what: `agent ${reg.instanceId} to connect`,
      });
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        return child?.exitCode ?? null;
      }
      child.kill(signal);
      return exited;
    },
    log() {
      try {
        return readFileSync(join(reg.installDir, '2.6.0.1', 'log', 'aliyun_assist_main.log'), 'utf8');
      } catch {
        return '(no log)';
      }
    },
  };
  t.after(() => agent.stop());
  await agent.start();
  return agent;
}
