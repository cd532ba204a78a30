// runWatchdog: starts the agent, restarts it whenever it ends without being asked to (with crash-loop
// backoff), samples it every few seconds against the resource budget and the health rules, and
// stops it gracefully (SIGTERM, grace, SIGKILL) when the watchdog itself is told to stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  ensureError,
  ExitCode,
  LIVENESS_FILE_ENV,
  readLiveness,
  sleep,
  type LogFields,
  type Logger,
} from '../shared/index.js';
import {
  AgentMonitor,
  CrashBackoff,
  type BackoffPolicy,
  type Budget,
  type RestartReason,
  type Verdict,
} from './policy.js';
import { cpuPercent, isSameLiveProcess, readProcSnapshot, readStartTime, type ProcSnapshot } from './proc-stats.js';
import {
  readStatusFile,
  writeStatusFile,
  type AgentProcessInfo,
  type WatchdogState,
  type WatchdogStatus,
} from './status-file.js';
import { KILL_WAIT_MS, signalProcess, terminateProcess } from './terminate.js';
import type { AgentCommand } from './watchdog-config.js';

export interface WatchdogOptions {
  /** Called before every start: an update that switches `<root>/version` takes effect at the next start. */
  resolveAgent: () => AgentCommand;
  /** The agent's environment (the watchdog adds ALIYUN_ASSIST_LIVENESS_FILE when livenessFile is set). */
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
  /** Aborting stops the agent gracefully and ends runWatchdog. */
  signal: AbortSignal;
  budget: Budget;
  sampleIntervalMs: number;
  backoff: BackoffPolicy;
  /** SIGTERM → SIGKILL grace when the watchdog stops or restarts the agent. */
  stopGraceMs: number;
  /** Where status is reported; also read at start to stop an agent a crashed watchdog left behind. */
  statusFile?: string;
  livenessFile?: string;
  /** The agent's stdout/stderr: inherited (journald under systemd) by default. */
  agentOutput?: 'inherit' | 'ignore';
  /** Every event, for tests and embedding. */
  onEvent?: (e: WatchdogEvent) => void;
  procRoot?: string;
}

export type WatchdogEvent =
  | { type: 'started'; pid: number; command: string }
  | { type: 'start-failed'; error: Error }
  | {
      type: 'exited';
      pid: number;
      code: number | null;
      signal: NodeJS.Signals | null;
      upMs: number;
      /** The watchdog stopped it (restart or shutdown); false for crashes and outside kills. */
      requested: boolean;
    }
  | {
      type: 'sample';
      pid: number;
      cpuPercent: number | undefined;
      rssBytes: number;
      pssBytes?: number | undefined;
      state: string;
      busy: boolean;
      strikes: Verdict['strikes'];
    }
  | { type: 'restarting'; pid: number; reason: RestartReason; detail: string }
  | { type: 'scheduled'; reason: RestartReason; detail: string; delayMs: number; restarts: number }
  | { type: 'orphan-stopped'; pid: number };

export interface WatchdogSummary {
  restarts: number;
  lastRestart: WatchdogStatus['lastRestart'];
}

/** Runs until options.signal aborts; resolves after the agent has been stopped. */
export function runWatchdog(o: WatchdogOptions): Promise<WatchdogSummary> {
  return new Supervisor(o).run();
}

/** Status samples go to disk at most this often unless a strike count changes. */
const SAMPLE_STATUS_EVERY_MS = 30_000;

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

class Supervisor {
  readonly #o: WatchdogOptions;
  readonly #log: Logger;
  readonly #status: WatchdogStatus;
  #lastSampleWriteMs = -Infinity;

  constructor(o: WatchdogOptions) {
    this.#o = o;
    this.#log = o.log;
    const wall = new Date().toISOString();
    this.#status = {
      version: 1,
      state: 'starting',
      watchdog: { pid: process.pid, startTimeTicks: readStartTime(process.pid) ?? null, startedAt: wall },
      agent: null,
      restarts: 0,
      lastRestart: null,
      lastSample: null,
      budget: {
        cpuPercent: o.budget.cpuPercent,
        pssBytes: o.budget.pssBytes ?? 0,
        rssBytes: o.budget.rssBytes,
        strikes: o.budget.strikes,
        sampleIntervalMs: o.sampleIntervalMs,
        warmupMs: o.budget.warmupMs,
      },
      updatedAt: wall,
    };
  }

  async run(): Promise<WatchdogSummary> {
    const { signal } = this.#o;
    this.#log.info('watchdog started', { budget: this.#status.budget });
    const orphan = this.#orphanOf(this.#o.statusFile ? readStatusFile(this.#o.statusFile) : undefined);
    // Until it is gone, the orphan stays on record: a watchdog that dies now leaves it findable.
    this.#status.agent = orphan ?? null;
    this.#write();
    if (orphan) {
      await this.#stopOrphan(orphan);
      this.#status.agent = null;
    }
    const backoff = new CrashBackoff(this.#o.backoff);
    while (!signal.aborted) {
      let ended: { reason: RestartReason; detail: string; upMs: number } | undefined;
      let command: AgentCommand | undefined;
      try {
        command = this.#o.resolveAgent();
      } catch (e) {
        const err = ensureError(e);
        this.#log.error('cannot resolve the agent command', { err });
        ended = { reason: 'start-failed', detail: err.message, upMs: 0 };
      }
      if (command) {
        ended = await this.#runOnce(command);
      }
      if (signal.aborted || !ended) {
        break;
      }
      const delayMs = backoff.next(ended.upMs);
      this.#status.restarts++;
      this.#status.lastRestart = { at: new Date().toISOString(), ...pick(ended, 'reason', 'detail'), delayMs };
      this.#setState('backoff');
      this.#log.warn('agent restart scheduled', {
        reason: ended.reason,
        detail: ended.detail,
        upMs: Math.round(ended.upMs),
        delayMs,
        attempt: backoff.attempt,
        restarts: this.#status.restarts,
      });
      this.#emit({
        type: 'scheduled',
        reason: ended.reason,
        detail: ended.detail,
        delayMs,
        restarts: this.#status.restarts,
      });
      await sleep(delayMs, signal);
    }
    this.#status.agent = null;
    this.#setState('stopped');
    this.#log.info('watchdog stopped', { restarts: this.#status.restarts });
    return { restarts: this.#status.restarts, lastRestart: this.#status.lastRestart };
  }

  /** Runs one agent process to its end. Undefined when it ended because the watchdog is stopping. */
  async #runOnce(cmd: AgentCommand): Promise<{ reason: RestartReason; detail: string; upMs: number } | undefined> {
    const o = this.#o;
    if (o.livenessFile) {
      try {
        rmSync(o.livenessFile, { force: true }); // a previous agent's; it names another pid anyway
      } catch (e) {
        this.#log.warn('cannot remove the liveness file', { err: ensureError(e), file: o.livenessFile });
      }
    }
    const env = { ...o.env, ...(o.livenessFile ? { [LIVENESS_FILE_ENV]: o.livenessFile } : {}) };
    const out = o.agentOutput ?? 'inherit';
    const child = spawn(cmd.command, [...cmd.args], {
      env,
      // Its own process group: a terminal's Ctrl-C reaches the watchdog only, which then stops the agent.
      detached: true,
      stdio: ['ignore', out, out],
    });
    const startedAt = performance.now();
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    if (child.pid === undefined) {
      const error = await spawnError;
      this.#log.error('cannot start the agent', { err: error, command: cmd.command });
      this.#emit({ type: 'start-failed', error });
      return { reason: 'start-failed', detail: error.message, upMs: 0 };
    }
    void spawnError.then((err) => this.#log.warn('agent process error', { err, agentPid: child.pid }));
    const pid = child.pid;
    const ended = new Promise<Ended>((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })));
    const startTimeTicks = readStartTime(pid, o.procRoot) ?? null;
    this.#status.agent = { pid, startTimeTicks, command: cmd.command, startedAt: new Date().toISOString() };
    this.#status.lastSample = null;
    this.#setState('running');
    this.#log.info('agent started', { agentPid: pid, command: cmd.command });
    this.#emit({ type: 'started', pid, command: cmd.command });

    const monitor = new AgentMonitor(o.budget);
    let prev: ProcSnapshot | undefined;
    let sampling = false;
    let requestRestart: (r: { reason: RestartReason; detail: string }) => void = () => {};
    const restartRequested = new Promise<{ reason: RestartReason; detail: string }>((r) => (requestRestart = r));
    const sample = () => {
      if (sampling) {
        return;
      }
      sampling = true;
      try {
        const snap = readProcSnapshot(pid, performance.now(), o.procRoot);
        if (!snap || (startTimeTicks !== null && snap.stat.startTimeTicks !== startTimeTicks)) {
          return; // exiting; the exit event follows
        }
        const cpu = prev ? cpuPercent(prev, snap) : undefined;
        prev = snap;
        const live = o.livenessFile ? readLiveness(o.livenessFile) : undefined;
        const verdict = monitor.observe({
          upMs: snap.atMs - startedAt,
          cpuPercent: cpu,
          rssBytes: snap.status.rssBytes,
          pssBytes: snap.status.pssBytes,
          state: snap.stat.state,
          busy: snap.hasChildren,
          livenessAgeMs: live && live.pid === pid ? Math.max(0, Date.now() - live.touchedAtMs) : undefined,
        });
        this.#recordSample(pid, snap, cpu, verdict);
        if (verdict.restart) {
          requestRestart(verdict.restart);
        }
      } catch (e) {
        this.#log.warn('agent sample failed', { err: ensureError(e), agentPid: pid });
      } finally {
        sampling = false;
      }
    };
    const timer = setInterval(sample, o.sampleIntervalMs);
    let onAbort = () => {};
    const aborted = new Promise<'abort'>((resolve) => {
      onAbort = () => resolve('abort');
      if (o.signal.aborted) {
        resolve('abort');
      }
      o.signal.addEventListener('abort', onAbort, { once: true });
    });
    const first = await Promise.race([ended, restartRequested, aborted]);
    clearInterval(timer);
    o.signal.removeEventListener('abort', onAbort);

    if (first === 'abort') {
      this.#setState('stopping');
      this.#log.info('stopping the agent', { agentPid: pid, graceMs: o.stopGraceMs });
      const r = await this.#terminate(child, ended);
      this.#logExit(pid, r, performance.now() - startedAt, true);
      return undefined;
    }
    if ('reason' in first) {
      this.#setState('restarting');
      this.#log.warn('restarting the agent', { agentPid: pid, reason: first.reason, detail: first.detail });
      this.#emit({ type: 'restarting', pid, ...first });
      const r = await this.#terminate(child, ended);
      const upMs = performance.now() - startedAt;
      this.#logExit(pid, r, upMs, true);
      return { ...first, upMs };
    }
    const upMs = performance.now() - startedAt;
    this.#logExit(pid, first, upMs, false);
    const detail =
      first.signal !== null
        ? `killed by ${first.signal}`
        : `exited with code ${first.code ?? '?'}${first.code === ExitCode.Ok ? ' (stopped from outside the watchdog)' : ''}`;
    return { reason: 'exited', detail, upMs };
  }

  /** SIGTERM (plus SIGCONT, in case it is stopped), then SIGKILL after the grace period. */
  async #terminate(child: ChildProcess, ended: Promise<Ended>): Promise<Ended | undefined> {
    const pid = child.pid!;
    signalProcess(pid, 'SIGTERM');
    signalProcess(pid, 'SIGCONT');
    const graceful = await within(ended, this.#o.stopGraceMs);
    if (graceful) {
      return graceful;
    }
    this.#log.warn('agent did not stop in time, killing it', { agentPid: pid, graceMs: this.#o.stopGraceMs });
    signalProcess(pid, 'SIGKILL');
    const killed = await within(ended, KILL_WAIT_MS);
    if (!killed) {
      this.#log.error('agent survived SIGKILL', { agentPid: pid });
    }
    return killed;
  }

  /** The agent a previous watchdog recorded, when that very process (pid and start time) still runs. */
  #orphanOf(previous: WatchdogStatus | undefined): AgentProcessInfo | undefined {
    const agent = previous?.agent;
    if (!agent || agent.startTimeTicks === null || previous.watchdog.pid === process.pid) {
      return undefined;
    }
    return isSameLiveProcess(agent.pid, agent.startTimeTicks, this.#o.procRoot) ? agent : undefined;
  }

  async #stopOrphan(agent: AgentProcessInfo): Promise<void> {
    this.#log.warn('stopping an agent left running by a previous watchdog', { agentPid: agent.pid });
    const how = await terminateProcess(agent.pid, agent.startTimeTicks!, this.#o.stopGraceMs, this.#o.procRoot);
    if (how === 'survived') {
      this.#log.error('agent survived SIGKILL', { agentPid: agent.pid });
    }
    this.#emit({ type: 'orphan-stopped', pid: agent.pid });
  }

  #recordSample(pid: number, snap: ProcSnapshot, cpu: number | undefined, verdict: Verdict): void {
    const { strikes } = verdict;
    const before = this.#status.lastSample;
    const previous = before?.strikes;
    this.#status.lastSample = {
      at: new Date().toISOString(),
      cpuPercent: cpu === undefined ? null : round1(cpu),
      rssBytes: snap.status.rssBytes,
      peakRssBytes: snap.status.peakRssBytes,
      pssBytes: snap.status.pssBytes ?? null,
      state: snap.stat.state,
      busy: snap.hasChildren,
      strikes,
    };
    const struck = strikes.cpu + strikes.memory + strikes.stopped > 0;
    const fields: LogFields = {
      agentPid: pid,
      cpuPercent: cpu === undefined ? undefined : round1(cpu),
      rssBytes: snap.status.rssBytes,
      pssBytes: snap.status.pssBytes,
      state: snap.stat.state,
      busy: snap.hasChildren,
      strikes,
    };
    if (struck) {
      this.#log.warn('agent over budget', fields);
    } else {
      this.#log.debug('agent sample', fields);
    }
    const changed =
      !previous ||
      before.cpuPercent === null ||
      previous.cpu !== strikes.cpu ||
      previous.memory !== strikes.memory ||
      previous.stopped !== strikes.stopped;
    if (changed || performance.now() - this.#lastSampleWriteMs >= SAMPLE_STATUS_EVERY_MS) {
      this.#lastSampleWriteMs = performance.now();
      this.#write();
    }
    this.#emit({
      type: 'sample',
      pid,
      cpuPercent: cpu,
      rssBytes: snap.status.rssBytes,
      pssBytes: snap.status.pssBytes,
      state: snap.stat.state,
      busy: snap.hasChildren,
      strikes,
    });
  }

  #logExit(pid: number, r: Ended | undefined, upMs: number, requested: boolean): void {
    const fields = { agentPid: pid, code: r?.code ?? null, signal: r?.signal ?? null, upMs: Math.round(upMs) };
    if (requested) {
      this.#log.info('agent stopped', fields);
    } else if (r?.code === ExitCode.Fatal || r?.code === ExitCode.Usage) {
      this.#log.error('agent exited', fields); // bad configuration or identity: a human should look
    } else {
      this.#log.warn('agent exited', fields);
    }
    this.#emit({ type: 'exited', pid, code: r?.code ?? null, signal: r?.signal ?? null, upMs, requested });
  }

  #setState(state: WatchdogState): void {
    this.#status.state = state;
    if (state !== 'running' && state !== 'stopping' && state !== 'restarting') {
      this.#status.agent = null;
    }
    this.#write();
  }

  #write(): void {
    if (!this.#o.statusFile) {
      return;
    }
    this.#status.updatedAt = new Date().toISOString();
    try {
      writeStatusFile(this.#o.statusFile, this.#status);
    } catch (e) {
      this.#log.warn('cannot write the status file', { err: ensureError(e), file: this.#o.statusFile });
    }
  }

  #emit(e: WatchdogEvent): void {
    try {
      this.#o.onEvent?.(e);
    } catch (err) {
      this.#log.warn('watchdog event handler failed', { err: ensureError(err), type: e.type });
    }
  }
}

async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  const r = {} as Pick<T, K>;
  for (const k of keys) {
    r[k] = o[k];
  }
  return r;
}
