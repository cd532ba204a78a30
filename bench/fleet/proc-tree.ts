// CPU of process trees and of the whole machine, from /proc. The PostgreSQL cluster (postmaster,
// its auxiliary processes and one backend per connection, which come and go) and nginx (master and
// worker) are several processes each; the machine's busy time shows what other work took.
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: /proc counts CPU time in ticks of 1/100 s on Linux. */
const TICKS = 100;

interface Stat {
  ppid: number;
  /** utime + stime of the process itself, in seconds. */
  own: number;
  /** cutime + cstime: children it has reaped (a backend that exited moves here). */
  reaped: number;
}

function stat(pid: number): Stat | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(f[1]),
      own: (Number(f[11]) + Number(f[12])) / TICKS,
      reaped: (Number(f[13]) + Number(f[14])) / TICKS,
    };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of `root` and every descendant alive now, plus what they reaped: continuous while
 * children come and go (a child's time moves into its parent's reaped time when it exits).
 * 0 once the root is gone.
 */
export function treeCpuSeconds(root: number): number {
  const all = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name)) {
      const s = stat(Number(name));
      if (s) {
        all.set(Number(name), s);
      }
    }
  }
  if (!all.has(root)) {
    return 0;
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) {
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  let sum = 0;
  const todo = [root];
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    const s = all.get(pid)!;
    sum += s.own + s.reaped;
    todo.push(...(children.get(pid) ?? []));
  }
  return sum;
}

/** CPU seconds every core of the machine has been busy so far (user, nice, system, irq, softirq, steal). */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS;
  } catch {
    return 0;
  }
}
