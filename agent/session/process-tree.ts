// Ending everything a session started. The PTY's program is a session leader (forkpty calls
// setsid), so its terminal session id is its pid: every process still in that terminal session is
// found in /proc, including jobs an interactive shell put in process groups of their own. What
// called setsid itself is reached through the session's cgroup (ProcessContainment) where there is one.
import { readdirSync, readFileSync } from 'node:fs';

/** The session id field of /proc/<pid>/stat text, or undefined. */
export function sessionIdOfStat(stat: string): number | undefined {
  // pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses: parse after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const sid = Number(rest[3]);
  return Number.isSafeInteger(sid) ? sid : undefined;
}

/** Pids whose terminal session is `sid` (Linux /proc; empty elsewhere). */
export function processesInSession(sid: number, proc = '/proc'): number[] {
  let names: string[];
  try {
    names = readdirSync(proc);
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      if (sessionIdOfStat(readFileSync(`${proc}/${name}/stat`, 'utf8')) === sid) {
        found.push(Number(name));
      }
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Signals every process of terminal session `sid`; returns how many were signalled. */
export function signalSession(sid: number, signal: NodeJS.Signals): number {
  if (!Number.isSafeInteger(sid) || sid <= 1) {
    return 0;
  }
  let n = 0;
  for (const pid of processesInSession(sid)) {
    try {
      process.kill(pid, signal);
      n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}
