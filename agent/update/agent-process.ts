// What the updater sees of and does to the agent, from another process: the agent's pid (from its
// single-instance lock), whether tasks are running (its running journal), stopping it, starting a
// version of it, and running a version's update_install.
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../shared/index.js';
import { AGENT_BINARY, INSTALL_SCRIPT } from './stage.js';
import { UpdateError } from './update-errors.js';

/** The agent's lock, `<stateDir>/aliyun-service.lock`, holds its pid (agent/main.ts). */
export const AGENT_LOCK_FILE = 'aliyun-service.lock';
/** The task engine's journal of running tasks, `<stateDir>/running/*.json` (agent/tasks/running-journal.ts). */
const JOURNAL_DIR = 'running';
/** Files being written there start with this (agent/tasks/durable-files.ts). */
const JOURNAL_TMP_PREFIX = '.tmp-';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the running agent, or undefined when no live process holds its lock. */
export function runningAgentPid(stateDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(stateDir, AGENT_LOCK_FILE), 'utf8'), 10);
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 1 && isAlive(pid) ? pid : undefined;
}

/** How many tasks the agent's journal lists as running (a task is listed from its start until its report is safe). */
export function runningTaskCount(stateDir: string): number {
  try {
    return readdirSync(join(stateDir, JOURNAL_DIR)).filter(
      (n) => n.endsWith('.json') && !n.startsWith(JOURNAL_TMP_PREFIX),
    ).length;
  } catch {
    return 0; // no journal yet: nothing ever ran
  }
}

/** Resolves true once the journal is empty, false when `timeoutMs` passes first. */
export async function waitForIdle(o: {
  stateDir: string;
  timeoutMs: number;
  pollMs: number;
  onBusy?: (count: number) => void;
}): Promise<boolean> {
  const deadline = Date.now() + o.timeoutMs;
  let reported = false;
  for (;;) {
    const n = runningTaskCount(o.stateDir);
    if (n === 0) {
      return true;
    }
    if (!reported) {
      o.onBusy?.(n);
      reported = true;
    }
    if (Date.now() >= deadline) {
      return false;
    }
    await sleep(o.pollMs);
  }
}

/** SIGTERM, then SIGKILL when it is still alive after `graceMs`; resolves once it is gone (or 5 s after SIGKILL). */
export async function stopProcess(pid: number, graceMs: number): Promise<'stopped' | 'killed' | 'gone'> {
  if (!signal(pid, 'SIGTERM')) {
    return 'gone';
  }
  if (await exited(pid, graceMs)) {
    return 'stopped';
  }
  signal(pid, 'SIGKILL');
  await exited(pid, 5_000);
  return 'killed';
}

/**
 * Starts `<installDir>/<version>/aliyun-service` on its own, for an agent nothing supervises: a new
 * session, no stdio, not waited for. Returns its pid.
 */
export function startAgent(installDir: string, version: string, env: NodeJS.ProcessEnv): number | undefined {
  const child = spawn(join(installDir, version, AGENT_BINARY), [], { detached: true, stdio: 'ignore', env });
  child.on('error', () => {}); // its absence shows in the health check
  child.unref();
  return child.pid;
}

/**
 * Runs `<installDir>/<version>/update_install` (`sh <script>`, as the stock updater does), which makes
 * that version the active one and, under a service manager, restarts the agent.
 */
export function runInstallScript(o: {
  installDir: string;
  version: string;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}): Promise<string> {
  const script = join(o.installDir, o.version, INSTALL_SCRIPT);
  return new Promise((resolve, reject) => {
    execFile(
      '/bin/sh',
      [script],
      { timeout: o.timeoutMs, killSignal: 'SIGKILL', env: o.env, maxBuffer: 2 ** 20 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`.trim().slice(-2000);
        if (!err) {
          resolve(output);
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown; signal?: string | null };
        if (e.killed) {
          reject(new UpdateError('ExecuteUpdateScriptRunnerTimeout', `${script} ran longer than ${o.timeoutMs} ms`));
        } else if (typeof e.code === 'string') {
          reject(new UpdateError('ExecuteUpdateScriptRunnerFailed', `cannot run ${script}: ${e.message}`));
        } else {
          const reason = e.signal ? 'ExitedBySignal' : 'UnexpectedExitStatus';
          const how = e.signal ? `was killed by ${e.signal}` : `exited with ${String(e.code)}`;
          reject(new UpdateError('ExecuteUpdateScriptFailed', `${script} ${how}: ${output}`, { reason }));
        }
      },
    );
  });
}

function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) {
      return false;
    }
    await sleep(100);
  }
  return true;
}
