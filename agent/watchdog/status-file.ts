// The watchdog's status file: a small JSON document replaced atomically (write, then rename) on
// every event, read by `assist_daemon --status` and by the next watchdog (to find an orphaned agent).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RestartReason } from './policy.js';

export type WatchdogState = 'starting' | 'running' | 'backoff' | 'restarting' | 'stopping' | 'stopped';

export interface AgentProcessInfo {
  pid: number;
  /** /proc start time in clock ticks: tells this process apart from a later one with the same pid. */
  startTimeTicks: number | null;
  command: string;
  startedAt: string;
}

export interface WatchdogStatus {
  version: 1;
  state: WatchdogState;
  watchdog: { pid: number; startTimeTicks: number | null; startedAt: string };
  agent: AgentProcessInfo | null;
  /** Starts of the agent after the first one, for any reason. */
  restarts: number;
  lastRestart: { at: string; reason: RestartReason; detail: string; delayMs: number } | null;
  lastSample: {
    at: string;
    cpuPercent: number | null;
    rssBytes: number;
    peakRssBytes: number;
    /** Absent in files written before PSS was sampled; null where the kernel does not give it. */
    pssBytes?: number | null;
    state: string;
    busy: boolean;
    strikes: { cpu: number; memory: number; stopped: number };
  } | null;
  budget: {
    cpuPercent: number;
    /** 0 or absent: no PSS budget. */
    pssBytes?: number;
    rssBytes: number;
    strikes: number;
    sampleIntervalMs: number;
    warmupMs: number;
  };
  updatedAt: string;
}

export function writeStatusFile(file: string, status: WatchdogStatus): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, file);
}

/** The last status written, or undefined when there is none (or it cannot be parsed). */
export function readStatusFile(file: string): WatchdogStatus | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<WatchdogStatus>;
    return v && v.version === 1 && typeof v.watchdog?.pid === 'number' ? (v as WatchdogStatus) : undefined;
  } catch {
    return undefined;
  }
}
