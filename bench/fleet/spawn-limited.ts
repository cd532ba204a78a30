// Child processes with a raised open-file limit. Node cannot call setrlimit on itself, so children
// are started through util-linux `prlimit --nofile=N:N <cmd>` (which execs the command: the child's
// pid is the command's own). Raising the hard limit needs CAP_SYS_RESOURCE; without it the limit
// is raised only as far as the hard limit allows, and the benchmark says so.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface FileLimit {
  /** The soft and hard NOFILE limit children get; undefined when prlimit is missing. */
  value: number | undefined;
  note: string;
}

const works = (n: number): boolean =>
  spawnSync('prlimit', [`--nofile=${n}:${n}`, 'true'], { stdio: 'ignore' }).status === 0;

/** The highest limit up to `wanted` that prlimit can give children here. */
export function probeFileLimit(wanted: number): FileLimit {
  if (spawnSync('prlimit', ['--version'], { stdio: 'ignore' }).status !== 0) {
    return { value: undefined, note: 'prlimit not found: children inherit this process limit' };
  }
  if (works(wanted)) {
    return { value: wanted, note: `nofile ${wanted}` };
  }
  const hard = /Max open files\s+\d+\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  const n = Number(hard);
  if (Number.isFinite(n) && works(n)) {
    return { value: n, note: `nofile ${n} (hard limit; ${wanted} needs CAP_SYS_RESOURCE)` };
  }
  return { value: undefined, note: 'prlimit refused: children inherit this process limit' };
}

export function spawnLimited(limit: FileLimit, cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  if (limit.value === undefined) {
    return spawn(cmd, args, opts);
  }
  return spawn('prlimit', [`--nofile=${limit.value}:${limit.value}`, cmd, ...args], opts);
}
