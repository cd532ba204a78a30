// Runs a plugin's entry point: its arguments, PLUGIN_DIR / PRE_PLUGIN_DIR, a time limit, and the
// whole process group killed at the limit (agent/executor). Output goes to the sink as it comes.
import { join } from 'node:path';
import { runProcess, type OutputSink } from '../executor/index.js';

export interface PluginRun {
  dir: string;
  runPath: string;
  args: string[];
  /** 0 = no limit. */
  timeoutS: number;
  /** The directory of the version installed before this one ('' when none). */
  preDir: string;
  /** The environment the plugin starts from (PLUGIN_DIR and PRE_PLUGIN_DIR are added). */
  env: Record<string, string | undefined>;
}

export type PluginRunOutcome =
  { kind: 'exited'; exitCode: number } | { kind: 'timedOut' } | { kind: 'failed'; message: string };

export async function runPlugin(r: PluginRun, onOutput: OutputSink, signal?: AbortSignal): Promise<PluginRunOutcome> {
  const entry = join(r.dir, r.runPath);
  const ps1 = /\.ps1$/i.test(r.runPath);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.env)) {
    if (v !== undefined) {
      env[k] = v;
    }
  }
  env['PLUGIN_DIR'] = r.dir;
  env['PRE_PLUGIN_DIR'] = r.preDir;
  env['PATH'] ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const run = runProcess(
    {
      command: ps1 ? 'powershell' : entry,
      args: ps1 ? [entry, ...r.args] : r.args,
      cwd: r.dir,
      env,
      timeoutMs: r.timeoutS * 1000,
      killGraceMs: 2000,
      label: 'plugin',
    },
    onOutput,
    signal,
  );
  const o = await run.outcome;
  switch (o.kind) {
    case 'exited':
      return { kind: 'exited', exitCode: o.signal ? 128 + signalNumber(o.signal) : o.exitCode };
    case 'timedOut':
      return { kind: 'timedOut' };
    case 'cancelled':
      return { kind: 'failed', message: 'stopped' };
    case 'failedToStart':
      return { kind: 'failed', message: o.message };
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
const signalNumber = (s: string): number => SIGNALS[s] ?? 1;
