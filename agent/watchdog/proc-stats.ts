// What the watchdog knows about the agent process, read from Linux /proc: parsing is pure (text in,
// numbers out) so it is unit-tested on fixtures; the readers below it are thin and tolerate a
// process that exits between two reads.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat. 100 on every Linux architecture Node runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcStat {
  pid: number;
  comm: string;
  /** One letter: R running, S sleeping, D disk wait, T stopped, t traced, Z zombie, X dead, I idle. */
  state: string;
  ppid: number;
  /** CPU time of the process itself (not of its children), in clock ticks. */
  utimeTicks: number;
  stimeTicks: number;
  /** Start time after boot, in clock ticks: with the pid it names one process across pid reuse. */
  startTimeTicks: number;
}

/** Parses /proc/<pid>/stat. The command name may hold spaces and parentheses: split after the last ')'. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) {
    throw new Error(`unparseable /proc stat line: ${text.slice(0, 80)}`);
  }
  const pid = Number(text.slice(0, open).trim());
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const num = (field: number): number => {
    const v = Number(rest[field - 3]);
    if (!Number.isFinite(v)) {
      throw new Error(`/proc stat field ${field} is not a number: ${text.slice(0, 80)}`);
    }
    return v;
  };
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: num(4),
    utimeTicks: num(14),
    stimeTicks: num(15),
    startTimeTicks: num(22),
  };
}

export interface ProcStatus {
  /** Resident set size in bytes (VmRSS). */
  rssBytes: number;
  /** Peak resident set size in bytes (VmHWM). */
  peakRssBytes: number;
  /**
   * Proportional set size in bytes (smaps_rollup Pss): pages the process shares with others (the
   * executable it shares with the watchdog, libraries) count divided among the sharers.
   * Undefined where the kernel has no /proc/<pid>/smaps_rollup (before 4.14).
   */
  pssBytes?: number;
}

/** The Pss line of /proc/<pid>/smaps_rollup, in bytes; undefined when absent (a zombie has none). */
export function parseSmapsRollupPss(text: string): number | undefined {
  const m = /^Pss:\s*(\d+)\s*kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Parses /proc/<pid>/status. A zombie has no Vm* lines: its memory counts as 0. */
export function parseProcStatus(text: string): ProcStatus {
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s*(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

/** Per-process CPU percent between two stat readings (100 = one core busy), as `top` shows it. */
export function cpuPercent(
  prev: { atMs: number; stat: ProcStat },
  cur: { atMs: number; stat: ProcStat },
  ticksPerSecond = CLOCK_TICKS_PER_SECOND,
): number {
  const wallSeconds = (cur.atMs - prev.atMs) / 1000;
  if (wallSeconds <= 0) {
    return 0;
  }
  const ticks = cur.stat.utimeTicks + cur.stat.stimeTicks - (prev.stat.utimeTicks + prev.stat.stimeTicks);
  return Math.max(0, (ticks / ticksPerSecond / wallSeconds) * 100);
}

/** Pids listed in /proc/<pid>/task/<tid>/children files (space-separated), deduplicated. */
export function parseChildren(texts: readonly string[]): number[] {
  const pids = new Set<number>();
  for (const t of texts) {
    for (const s of t.split(/\s+/)) {
      if (/^\d+$/.test(s)) {
        pids.add(Number(s));
      }
    }
  }
  return [...pids];
}

export interface ProcSnapshot {
  atMs: number;
  stat: ProcStat;
  status: ProcStatus;
  /** Whether the process has child processes (the agent is running a script). */
  hasChildren: boolean;
}

/** Reads one process; undefined when it no longer exists. */
export function readProcSnapshot(pid: number, atMs: number, procRoot = '/proc'): ProcSnapshot | undefined {
  try {
    const dir = join(procRoot, String(pid));
    const stat = parseProcStat(readFileSync(join(dir, 'stat'), 'utf8'));
    const status = parseProcStatus(readFileSync(join(dir, 'status'), 'utf8'));
    const pss = readPss(dir);
    return {
      atMs,
      stat,
      status: pss === undefined ? status : { ...status, pssBytes: pss },
      hasChildren: readChildren(pid, procRoot).length > 0,
    };
  } catch (e) {
    if (isGone(e)) {
      return undefined;
    }
    throw e;
  }
}

function readPss(dir: string): number | undefined {
  try {
    return parseSmapsRollupPss(readFileSync(join(dir, 'smaps_rollup'), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined; // an old kernel; the process itself is there (its status was just read)
    }
    throw e;
  }
}

/**
 * Child pids of a process. Uses the children files (CONFIG_PROC_CHILDREN, present on common
 * kernels); without them it scans every /proc/<pid>/stat for the parent pid.
 */
export function readChildren(pid: number, procRoot = '/proc'): number[] {
  const taskDir = join(procRoot, String(pid), 'task');
  let tids: string[];
  try {
    tids = readdirSync(taskDir);
  } catch (e) {
    if (isGone(e)) {
      return [];
    }
    throw e;
  }
  const texts: string[] = [];
  for (const tid of tids) {
    try {
      texts.push(readFileSync(join(taskDir, tid, 'children'), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) {
        return scanForChildren(pid, procRoot);
      }
      // a thread that ended meanwhile
    }
  }
  return parseChildren(texts);
}

function scanForChildren(pid: number, procRoot: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      if (parseProcStat(readFileSync(join(procRoot, name, 'stat'), 'utf8')).ppid === pid) {
        found.push(Number(name));
      }
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** The stat line of a process, or undefined when no such process exists. */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(join(procRoot, String(pid), 'stat'), 'utf8'));
  } catch (e) {
    if (isGone(e)) {
      return undefined;
    }
    throw e;
  }
}

/** The start time of a process (running or not yet reaped), or undefined when no such process exists. */
export function readStartTime(pid: number, procRoot = '/proc'): number | undefined {
  return readProcStat(pid, procRoot)?.startTimeTicks;
}

/** Whether pid still names the process that started at startTimeTicks, and it has not exited. */
export function isSameLiveProcess(pid: number, startTimeTicks: number, procRoot = '/proc'): boolean {
  const st = readProcStat(pid, procRoot);
  return st !== undefined && st.startTimeTicks === startTimeTicks && st.state !== 'Z' && st.state !== 'X';
}

const isGone = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
};
