// A liveness file: the agent writes its pid into it and touches it from its event loop; the
// watchdog restarts an agent whose file stops being touched (a blocked event loop looks idle in
// /proc). The watchdog names the file in the agent's environment; an agent started without it
// writes nothing.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Service } from './lifecycle.js';

/** The environment variable through which the watchdog passes the file's path to the agent. */
export const LIVENESS_FILE_ENV = 'ALIYUN_ASSIST_LIVENESS_FILE';
export const LIVENESS_INTERVAL_MS = 10_000;

export class LivenessBeacon implements Service {
  readonly name = 'liveness';
  readonly #file: string;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  constructor(o: { file: string; intervalMs?: number }) {
    this.#file = o.file;
    this.#intervalMs = o.intervalMs ?? LIVENESS_INTERVAL_MS;
  }
  start(): Promise<void> {
    this.#write();
    this.#timer = setInterval(() => this.#touch(), this.#intervalMs);
    this.#timer.unref();
    return Promise.resolve();
  }
  stop(): Promise<void> {
    clearInterval(this.#timer);
    rmSync(this.#file, { force: true });
    return Promise.resolve();
  }
  #write(): void {
    mkdirSync(dirname(this.#file), { recursive: true, mode: 0o700 });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, String(process.pid), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
  #touch(): void {
    try {
      const now = new Date();
      utimesSync(this.#file, now, now);
    } catch {
      try {
        this.#write(); // removed meanwhile: write it again
      } catch {
        // nothing to do; the watchdog sees a stale file and restarts us, which is the point
      }
    }
  }
}

/** The pid named in a liveness file and when it was last touched; undefined when there is none. */
export function readLiveness(file: string): { pid: number; touchedAtMs: number } | undefined {
  try {
    const touchedAtMs = statSync(file).mtimeMs;
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) ? { pid, touchedAtMs } : undefined;
  } catch {
    return undefined;
  }
}
