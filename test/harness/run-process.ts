// Runs a program to completion and captures what it printed: the CLI, the agent's one-shot
// commands, assist_daemon --status, acs-plugin-manager. Asynchronous, because a test's control
// plane shares this process's event loop.
import { spawn } from 'node:child_process';

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The whole environment of the program (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the program's stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string;
  /** Killed after this long (default 90 s: far past any command a test runs). */
  timeoutMs?: number;
}

export function runProcess(command: string, args: readonly string[], o: RunOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const p = spawn(command, args, {
      env: o.env ?? process.env,
      stdio: [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: o.timeoutMs ?? 90_000,
      ...(o.cwd ? { cwd: o.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
    if (o.stdin !== undefined) {
      p.stdin!.end(o.stdin);
    }
  });
}

/** This process's environment without the variables the `assist` CLI reads (so a test sets them). */
export function envWithoutCliSettings(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(ASSIST_|ALIBABA_CLOUD_)/.test(k)),
  ) as Record<string, string>;
}
