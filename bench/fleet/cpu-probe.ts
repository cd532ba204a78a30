// CPU seconds of every party on the machine, read together so that a window's figures add up:
// each control-plane node, PostgreSQL's processes, nginx, the simulator's workers, this benchmark
// process, and the machine as a whole (what is left over is other work on a shared machine).
import { machineBusySeconds } from './proc-tree.js';

/** CPU seconds by party ("node A", "postgres", "nginx", "simulator", "bench", "machine"). */
export type CpuSample = Record<string, number>;

export const MACHINE = 'machine';
export const OTHER = 'other work';

export type CpuProbe = () => CpuSample;

export function probe(parts: CpuProbe[]): CpuProbe {
  return () => {
    const s: CpuSample = {};
    for (const p of parts) {
      Object.assign(s, p());
    }
    const u = process.cpuUsage();
    s['bench'] = (u.user + u.system) / 1e6;
    s[MACHINE] = machineBusySeconds();
    return s;
  };
}

/** b − a per party, with OTHER: the machine's busy time that none of the parties used. */
export function cpuDelta(a: CpuSample, b: CpuSample): CpuSample {
  const d: CpuSample = {};
  for (const k of Object.keys(b)) {
    d[k] = (b[k] ?? 0) - (a[k] ?? 0);
  }
  const ours = Object.entries(d)
    .filter(([k]) => k !== MACHINE)
    .reduce((s, [, v]) => s + v, 0);
  d[OTHER] = Math.max(0, (d[MACHINE] ?? 0) - ours);
  return d;
}

export const sumOf = (s: CpuSample, keys: readonly string[]): number => keys.reduce((t, k) => t + (s[k] ?? 0), 0);
