// Signals for processes the watchdog may not be the parent of (an agent left by a crashed watchdog,
// the watchdog itself seen from `--stop`): identified by pid and /proc start time, polled for exit.
import { performance } from 'node:perf_hooks';
import { sleep } from '../shared/index.js';
import { isSameLiveProcess } from './proc-stats.js';

/** After SIGKILL, how long to wait for the exit before giving up on the process. */
export const KILL_WAIT_MS = 10_000;

/** Sends a signal; false when the process is already gone. */
export function signalProcess(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') {
      return false;
    }
    throw e;
  }
}

/** Polls until done() holds or ms pass; the last answer of done(). */
export async function pollUntil(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (done()) {
      return true;
    }
    await sleep(50);
  }
  return done();
}

/**
 * SIGTERM (with SIGCONT, in case it is stopped), then SIGKILL after graceMs, to the process that
 * pid named when it started at startTimeTicks. 'terminated' when it ended within the grace period.
 */
export async function terminateProcess(
  pid: number,
  startTimeTicks: number,
  graceMs: number,
  procRoot?: string,
): Promise<'terminated' | 'killed' | 'survived'> {
  const gone = () => !isSameLiveProcess(pid, startTimeTicks, procRoot);
  if (gone()) {
    return 'terminated';
  }
  signalProcess(pid, 'SIGTERM');
  signalProcess(pid, 'SIGCONT');
  if (await pollUntil(gone, graceMs)) {
    return 'terminated';
  }
  signalProcess(pid, 'SIGKILL');
  return (await pollUntil(gone, KILL_WAIT_MS)) ? 'killed' : 'survived';
}
