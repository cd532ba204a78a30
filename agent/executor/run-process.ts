// Runs one script process: explicit environment, optional uid/gid, merged output, timeout, cancel,
// and whole-process-tree kill. A leaf module: Node built-ins only, no knowledge of tasks or protocol.
//
// Lifecycle (DESIGN.md §5, luban-protocol.md §5.6–5.7):
//   spawn (own process group on POSIX; with a containment, inside a cell of its own: on Linux a
//   cgroup, which also holds the processes that leave the group with setsid)
//   → output chunks to the sink as they arrive
//   → on timeout/abort: SIGTERM to the group and to the rest of the cell, SIGKILL to the group and
//     the whole cell after the grace period
//   → the run is over when the direct child has exited (after a stop: and its group has closed
//     the pipes or the grace has run out): SIGKILL whatever is left in the group (after a stop:
//     in the cell), read the pipes for ≤ 200 ms more, stop reading, resolve the outcome; the cell
//     is removed once empty.
// Non-zero exits, timeouts, cancels and start failures are outcome values; runProcess never throws.
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { getSystemErrorMap } from 'node:util';
import type { ProcessContainment } from './containment.js';
import { outputRead } from './memory-reclaim.js';

export interface ProcessSpec {
  command: string;
  args: string[];
  cwd: string;
  /** The complete environment; nothing is inherited from the agent. */
  env: Record<string, string>;
  /** Run as this user (the agent runs as root). `gid` is required whenever `uid` is given. */
  uid?: number;
  gid?: number;
  /** 0 = no timeout. */
  timeoutMs: number;
  /** TERM → KILL grace, default 5000. */
  killGraceMs?: number;
  /** Written to the process's stdin, which is then closed; without it stdin is empty (/dev/null). */
  input?: Buffer;
  /**
   * Confines the run's whole process tree beyond its process group (Linux: a cgroup per run, see
   * detectContainment); without it, or when it gives no cell, the process group only.
   */
  containment?: ProcessContainment;
  /** Names the run where the containment shows it (the task id goes into the cgroup's name). */
  label?: string;
}

/** Receives stdout and stderr merged, each chunk as it arrives. Never called after the outcome settles. */
export interface OutputSink {
  (chunk: Buffer): void;
}

export type ExecOutcome =
  | { kind: 'exited'; exitCode: number; signal: NodeJS.Signals | null; startedAt: number; endedAt: number }
  | { kind: 'timedOut'; startedAt: number; endedAt: number }
  | { kind: 'cancelled'; startedAt: number; endedAt: number }
  | { kind: 'failedToStart'; errno: number | undefined; code: string | undefined; message: string };

export interface RunningProcess {
  readonly pid: number | undefined;
  readonly startedAt: number;
  readonly outcome: Promise<ExecOutcome>;
}

export const DEFAULT_KILL_GRACE_MS = 5000;
/** How long to keep reading the pipes after the direct child has exited (stock: 200 ms). */
export const DRAIN_MS = 200;
/** During a stop's grace, how often a cell is checked for having emptied. */
const CELL_POLL_MS = 25;

export type KillSignal = 'SIGTERM' | 'SIGKILL';

/** What killTree does for a platform; pure, so the Windows branch can be unit-tested anywhere. */
export type KillPlan =
  { kind: 'signalGroup'; pgid: number; signal: KillSignal } | { kind: 'exec'; command: string; args: string[] };

export function killTreePlan(pid: number, signal: KillSignal, platform: NodeJS.Platform): KillPlan {
  // kill(0) and kill(-1) would hit the agent's own group or every process: refuse anything not a real pid.
  if (!Number.isSafeInteger(pid) || pid <= 1) {
    throw new RangeError(`not a process id: ${pid}`);
  }
  // Windows has no process groups; taskkill /T walks the tree by parent pid. There is no gentle
  // signal a console process honours, so TERM is already forceful there and the grace is moot.
  if (platform === 'win32') {
    return { kind: 'exec', command: 'taskkill', args: ['/T', '/F', '/PID', String(pid)] };
  }
  return { kind: 'signalGroup', pgid: pid, signal };
}

/**
 * Signals the whole tree of `pid` (on POSIX: its process group, whose id is `pid` because the child
 * was spawned detached). Best effort: returns false when there was nothing to signal.
 */
export function killTree(pid: number, signal: KillSignal, platform: NodeJS.Platform = process.platform): boolean {
  const plan = killTreePlan(pid, signal, platform);
  switch (plan.kind) {
    case 'signalGroup':
      try {
        process.kill(-plan.pgid, plan.signal);
        return true;
      } catch {
        return false; // ESRCH: the group is already empty
      }
    case 'exec': {
      const killer = spawn(plan.command, plan.args, { stdio: 'ignore', windowsHide: true });
      killer.on('error', () => {}); // taskkill missing: nothing better to do
      return true;
    }
  }
}

type StopReason = 'timedOut' | 'cancelled';
type StartFailure = Extract<ExecOutcome, { kind: 'failedToStart' }>;

/**
 * Starts `spec` and returns at once. `outcome` never rejects and runProcess never throws: an invalid
 * spec or a missing cwd/command is `failedToStart`; a signal already aborted gives `cancelled`
 * without spawning. `onStarted` runs once the process is known to be running. `endedAt` is
 * `startedAt` plus monotonic elapsed time until the run was over (the direct child's exit; after a
 * timeout/cancel, the moment its process tree closed its output or the grace ran out).
 */
export function runProcess(
  spec: ProcessSpec,
  onOutput: OutputSink,
  signal?: AbortSignal,
  onStarted?: (pid: number, startedAt: number) => void,
): RunningProcess {
  const notStarted = (outcome: ExecOutcome, startedAt = Date.now()): RunningProcess => ({
    pid: undefined,
    startedAt,
    outcome: Promise.resolve(outcome),
  });

  const invalid = specProblem(spec);
  if (invalid !== undefined) {
    return notStarted(failure('EINVAL', `invalid process spec: ${invalid}`));
  }
  if (signal?.aborted) {
    // Cancelled before it began: nothing is spawned.
    const now = Date.now();
    return notStarted({ kind: 'cancelled', startedAt: now, endedAt: now }, now);
  }
  const cwdFailure = checkCwd(spec.cwd);
  if (cwdFailure !== undefined) {
    return notStarted(cwdFailure);
  }

  const platform = process.platform;
  const startedAt = Date.now();
  const t0 = performance.now();
  const endedAtNow = (): number => startedAt + Math.round(performance.now() - t0);

  const cell = spec.containment?.open(spec.label);
  let child: ChildProcess;
  const start = (): ChildProcess =>
    spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
      ...(spec.gid !== undefined ? { gid: spec.gid } : {}),
      // POSIX: setsid(), so the script leads its own process group and the group id is its pid.
      detached: platform !== 'win32',
      stdio: [spec.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
  try {
    child = cell !== undefined ? cell.spawnInside(start) : start();
  } catch (err) {
    // Node throws synchronously for invalid arguments and for spawn errors other than
    // EACCES/EAGAIN/EMFILE/ENFILE/ENOENT (for example EPERM when setuid is not allowed).
    cell?.close();
    return notStarted(failureFrom(err), startedAt);
  }

  const pid = child.pid;
  if (spec.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {}); // EPIPE: the process did not read it all
    child.stdin.end(spec.input);
  }
  // POSIX: the whole process group can be signalled, even after its leader has exited.
  const groupKill = platform !== 'win32';
  let resolveOutcome!: (outcome: ExecOutcome) => void;
  const outcome = new Promise<ExecOutcome>((resolve) => (resolveOutcome = resolve));
  // Node leaves the pipes null only when spawn ran out of file descriptors (EMFILE/ENFILE).
  const streams = [child.stdout, child.stderr].filter((s): s is Readable => s !== null);
  let openStreams = streams.length;
  let settled = false;
  let stopReason: StopReason | undefined;
  let killSent = false; // the grace after a stop has expired and SIGKILL went to the group
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let endedAt: number | undefined; // set once the run is over; then only the pipe drain remains
  let timeout: { clear(): void } | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let cellPoll: NodeJS.Timeout | undefined;

  const settle = (value: ExecOutcome): void => {
    if (settled) {
      return;
    }
    settled = true;
    timeout?.clear();
    clearTimeout(graceTimer);
    clearTimeout(drainTimer);
    clearInterval(cellPoll);
    signal?.removeEventListener('abort', onAbort);
    // Removed now if empty, else once the processes the run left behind have exited.
    cell?.close();
    // Stop reading: whatever still holds the pipes open (a process that left the group) no longer
    // delays the outcome, and the sink is never called after this point.
    for (const s of streams) {
      s.removeListener('data', onData);
      s.destroy();
    }
    resolveOutcome(value);
  };

  const finish = (): void => {
    if (exit === undefined || endedAt === undefined) {
      return;
    }
    if (stopReason !== undefined) {
      settle({ kind: stopReason, startedAt, endedAt });
    }
    // Killed by a signal: exitCode -1, as the stock client reports it.
    else {
      settle({ kind: 'exited', exitCode: exit.code ?? -1, signal: exit.signal, startedAt, endedAt });
    }
  };

  // The run is over: the direct child has exited and, after a stop, its tree has ended or its grace
  // has run out. Anything still in the process group is a leftover (typically a background job the
  // script started and did not wait for): SIGKILL it now rather than let it outlive the task. The
  // stock client leaves such processes running; we deliberately do not (DESIGN.md §1, "do the safe
  // thing"). The group id cannot be reused while any member, even a zombie, remains. Not on Windows:
  // once the parent is gone taskkill /T could only name the tree by a pid that may be reused.
  // After a stop the whole cell goes too: a stopped task leaves nothing behind. A run that ended by
  // itself keeps what left its group on purpose (`setsid -f daemon`, a double-forking init script):
  // those outlive the task, as with the stock client, in the cell until they exit.
  // Then read the pipes for at most DRAIN_MS more (stock: 200 ms) and settle.
  const runOver = (): void => {
    if (pid === undefined || endedAt !== undefined) {
      return;
    }
    endedAt = endedAtNow();
    clearTimeout(graceTimer);
    clearInterval(cellPoll);
    if (groupKill) {
      killTree(pid, 'SIGKILL', platform);
    }
    if (stopReason !== undefined) {
      cell?.killAll();
    }
    if (openStreams === 0) {
      finish();
    } else {
      drainTimer = setTimeout(finish, DRAIN_MS);
    }
  };

  // Within a stop's grace, after the direct child has exited: the tree is done once it has closed
  // the pipes and, with a cell, once the cell is empty too (a process outside the group may still
  // be running its TERM handler). Until then the grace timer ends the run.
  const awaitTree = (): void => {
    if (openStreams > 0) {
      return; // the last pipe's 'close' comes back here
    }
    if (cell === undefined || cell.isEmpty()) {
      runOver();
      return;
    }
    cellPoll ??= setInterval(() => {
      if (cell.isEmpty()) {
        runOver();
      }
    }, CELL_POLL_MS);
  };

  function onData(chunk: Buffer): void {
    if (!settled) {
      onOutput(chunk);
    }
    outputRead(chunk.length);
  }

  function onAbort(): void {
    stop('cancelled');
  }

  // SIGTERM to the group (and to whatever left it, in the cell) now, SIGKILL to the group and the
  // whole cell after the grace. The grace covers the whole group, not just the direct child: with
  // `sh -c <file>` the direct child is a wrapper shell that dies on TERM at once while the script
  // itself may still be running its TERM trap.
  const stop = (reason: StopReason): void => {
    // The first reason wins; once the direct child has exited the work is done and nothing changes.
    if (settled || exit !== undefined || stopReason !== undefined || pid === undefined) {
      return;
    }
    stopReason = reason;
    timeout?.clear();
    killTree(pid, 'SIGTERM', platform);
    cell?.signalAll('SIGTERM', pid);
    graceTimer = setTimeout(() => {
      killSent = true;
      if (exit === undefined || groupKill) {
        killTree(pid, 'SIGKILL', platform);
      }
      cell?.killAll();
      if (exit !== undefined) {
        runOver();
      }
    }, spec.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  };

  for (const s of streams) {
    s.on('data', onData);
    s.on('error', () => {}); // a read error ends the stream; 'close' follows
    s.on('close', () => {
      openStreams -= 1;
      if (openStreams > 0) {
        return;
      }
      // During a stop's grace, every pipe closing means the tree has finished with its output.
      if (exit !== undefined && endedAt === undefined) {
        if (stopReason !== undefined && !killSent) {
          awaitTree();
        } else {
          runOver();
        }
      } else {
        finish();
      }
    });
  }

  child.on('error', (err) => {
    // Before a pid exists this is the spawn failure (ENOENT, EACCES, …). Later errors come only from
    // child.kill()/send(), which are not used; the 'exit' event still decides the outcome.
    if (pid === undefined) {
      settle(failureFrom(err));
    }
  });

  if (pid !== undefined) {
    child.once('spawn', () => onStarted?.(pid, startedAt));
    child.once('exit', (code, sig) => {
      exit = { code, signal: sig };
      timeout?.clear();
      signal?.removeEventListener('abort', onAbort);
      // Stopping, within the grace: let the tree finish its TERM handling; the tree being done
      // (pipes closed, cell empty) or the grace timer ends the run.
      if (groupKill && stopReason !== undefined && !killSent) {
        awaitTree();
        return;
      }
      runOver();
    });
    if (spec.timeoutMs > 0) {
      timeout = longTimeout(spec.timeoutMs, () => stop('timedOut'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  }

  return { pid, startedAt, outcome };
}

function specProblem(spec: ProcessSpec): string | undefined {
  const isDuration = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (!isDuration(spec.timeoutMs)) {
    return `timeoutMs must be a finite number >= 0, got ${spec.timeoutMs}`;
  }
  if (spec.killGraceMs !== undefined && !isDuration(spec.killGraceMs)) {
    return `killGraceMs must be a finite number >= 0, got ${spec.killGraceMs}`;
  }
  // Without a gid the script would keep the agent's group (root): refuse rather than leak it.
  if (spec.uid !== undefined && spec.gid === undefined) {
    return 'gid is required when uid is given';
  }
  return undefined;
}

/** The working directory must exist and be a directory (checked here for a clear message). */
function checkCwd(cwd: string): StartFailure | undefined {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(cwd).isDirectory();
  } catch (err) {
    const f = failureFrom(err);
    const message =
      f.code === 'ENOENT' ? `working directory does not exist: ${cwd}` : `working directory ${cwd}: ${f.message}`;
    return { ...f, message };
  }
  return isDirectory ? undefined : failure('ENOTDIR', `working directory is not a directory: ${cwd}`);
}

/** Node's (libuv's) errno for a code, so synthetic failures look like the ones spawn reports. */
function errnoOf(code: string): number | undefined {
  for (const [errno, [name]] of getSystemErrorMap()) {
    if (name === code) {
      return errno;
    }
  }
  return undefined;
}

function failure(code: string, message: string): StartFailure {
  return { kind: 'failedToStart', errno: errnoOf(code), code, message };
}

function failureFrom(err: unknown): StartFailure {
  if (err instanceof Error) {
    const e = err as NodeJS.ErrnoException;
    return {
      kind: 'failedToStart',
      errno: typeof e.errno === 'number' ? e.errno : undefined,
      code: typeof e.code === 'string' ? e.code : undefined,
      message: e.message,
    };
  }
  return { kind: 'failedToStart', errno: undefined, code: undefined, message: String(err) };
}

// setTimeout fires after 1 ms for delays above 2^31-1 ms (~24.8 days); chain timers instead.
const MAX_TIMER_MS = 2 ** 31 - 1;
function longTimeout(ms: number, fn: () => void): { clear(): void } {
  let timer: NodeJS.Timeout;
  const arm = (remaining: number): void => {
    timer = setTimeout(
      () => (remaining > MAX_TIMER_MS ? arm(remaining - MAX_TIMER_MS) : fn()),
      Math.min(remaining, MAX_TIMER_MS),
    );
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}
