// Controlling a running watchdog from another process (`assist_daemon --status/--stop/--delete`),
// through its pid file and status file.
import { mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isSameLiveProcess, readProcStat } from './proc-stats.js';
import { readStatusFile, type WatchdogStatus } from './status-file.js';
import { pollUntil, signalProcess, terminateProcess } from './terminate.js';

export interface ControlFiles {
  pidFile: string;
  statusFile: string;
  livenessFile: string;
}

export interface WatchdogProbe {
  /** running: a live watchdog holds the pid file; dead: the pid file names no live watchdog; stopped: no pid file. */
  state: 'running' | 'dead' | 'stopped';
  pid: number | undefined;
  status: WatchdogStatus | undefined;
}

export function probeWatchdog(f: ControlFiles): WatchdogProbe {
  const status = readStatusFile(f.statusFile);
  let text: string;
  try {
    text = readFileSync(f.pidFile, 'utf8');
  } catch {
    return { state: 'stopped', pid: undefined, status };
  }
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    return { state: 'dead', pid: undefined, status };
  }
  return { state: isWatchdogProcess(pid, status) ? 'running' : 'dead', pid, status };
}

/**
 * Whether pid is the watchdog that wrote the status file. When the status names this pid with a
 * start time, the start time must match (a recycled pid is not ours); before the first status
 * write, a live process is taken at its word.
 */
function isWatchdogProcess(pid: number, status: WatchdogStatus | undefined): boolean {
  const st = readProcStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') {
    return false;
  }
  const recorded = status?.watchdog.pid === pid ? status.watchdog.startTimeTicks : null;
  return recorded === null || isSameLiveProcess(pid, recorded);
}

/**
 * Takes the pid file for this process. A pid file whose process is gone, or is not the watchdog
 * that wrote the status file (the file lives on disk, so after a reboot its pid may name anything),
 * is taken over. Returns the live holder's pid when another watchdog runs.
 */
export function acquirePidFile(f: ControlFiles): { release: () => void } | { heldBy: number } {
  mkdirSync(dirname(f.pidFile), { recursive: true, mode: 0o755 });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(f.pidFile, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return {
        release: () => {
          if (readPid(f.pidFile) === process.pid) {
            rmSync(f.pidFile, { force: true });
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw e;
      }
    }
    const probe = probeWatchdog(f);
    if (probe.state === 'running' && probe.pid !== undefined && probe.pid !== process.pid) {
      return { heldBy: probe.pid };
    }
    rmSync(f.pidFile, { force: true });
  }
  throw new Error(`cannot take the pid file ${f.pidFile}`);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface StopResult {
  wasRunning: boolean;
  /** False when the watchdog (or the agent it left behind) was still running at the deadline. */
  stopped: boolean;
  pid: number | undefined;
  /** An agent left running by a watchdog that had died, which this stop ended. */
  orphanAgentPid?: number;
}

export interface StopOptions {
  /** How long to wait for the watchdog to exit (it first stops the agent within its own grace). */
  timeoutMs: number;
  /** SIGTERM → SIGKILL grace for an agent whose watchdog is gone. */
  agentGraceMs: number;
}

/**
 * SIGTERM to the watchdog (which stops the agent gracefully), then waits for it to exit. An agent
 * the status file still names afterwards (its watchdog died without stopping it) is stopped too:
 * after `--stop` neither runs, whatever state the watchdog was in.
 */
export async function stopWatchdog(f: ControlFiles, o: StopOptions): Promise<StopResult> {
  const probe = probeWatchdog(f);
  let wasRunning = false;
  if (probe.state === 'running' && probe.pid !== undefined) {
    wasRunning = true;
    const pid = probe.pid;
    signalProcess(pid, 'SIGTERM');
    if (!(await pollUntil(() => !isWatchdogProcess(pid, probe.status), o.timeoutMs))) {
      return { wasRunning, stopped: false, pid };
    }
  }
  const agent = readStatusFile(f.statusFile)?.agent;
  if (agent && agent.startTimeTicks !== null && isSameLiveProcess(agent.pid, agent.startTimeTicks)) {
    const how = await terminateProcess(agent.pid, agent.startTimeTicks, o.agentGraceMs);
    return { wasRunning, stopped: how !== 'survived', pid: probe.pid, orphanAgentPid: agent.pid };
  }
  return { wasRunning, stopped: true, pid: probe.pid };
}

/** Stops the watchdog, then removes its pid, status and liveness files (logs stay). */
export async function deleteWatchdog(f: ControlFiles, o: StopOptions): Promise<StopResult & { removed: string[] }> {
  const r = await stopWatchdog(f, o);
  if (!r.stopped) {
    return { ...r, removed: [] };
  }
  const removed: string[] = [];
  const dir = dirname(f.statusFile);
  const leftovers = safeList(dir).filter((n) => n.endsWith('.tmp') && n.startsWith(basename(f.statusFile)));
  for (const file of [f.pidFile, f.statusFile, f.livenessFile, ...leftovers.map((n) => join(dir, n))]) {
    if (safeList(dirname(file)).includes(basename(file))) {
      rmSync(file, { force: true });
      removed.push(file);
    }
  }
  try {
    rmdirSync(dir); // only when nothing else (logs, the binary) is left in it
  } catch {
    // not empty, or gone already
  }
  return { ...r, removed };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Human-readable status, one fact per line (what `assist_daemon --status` prints). */
export function formatStatus(p: WatchdogProbe, nowMs = Date.now()): string {
  const lines: string[] = [];
  if (p.state === 'running') {
    lines.push(`assist_daemon: running (pid ${p.pid})`);
  } else if (p.state === 'dead') {
    lines.push(`assist_daemon: stopped (stale pid file${p.pid ? `, pid ${p.pid}` : ''})`);
  } else {
    lines.push('assist_daemon: stopped');
  }
  const s = p.status;
  if (p.state === 'running' && s) {
    if (s.agent) {
      const up = Math.max(0, Math.round((nowMs - Date.parse(s.agent.startedAt)) / 1000));
      lines.push(`agent: running (pid ${s.agent.pid}, up ${up} s)`);
    } else {
      lines.push(`agent: not running (${s.state})`);
    }
    if (s.lastSample) {
      const cpu = s.lastSample.cpuPercent === null ? '-' : `${s.lastSample.cpuPercent} %`;
      const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
      const pss = typeof s.lastSample.pssBytes === 'number' ? `, pss ${mib(s.lastSample.pssBytes)}` : '';
      lines.push(`agent usage: cpu ${cpu}, rss ${mib(s.lastSample.rssBytes)}${pss}`);
    }
  }
  if (s) {
    lines.push(`restarts: ${s.restarts}`);
    lines.push(
      s.lastRestart
        ? `last restart: ${s.lastRestart.at} ${s.lastRestart.reason}: ${s.lastRestart.detail}`
        : 'last restart: none',
    );
  }
  return lines.join('\n');
}
