// Periodic tasks (Period = cron, Rate, At) on timers (luban §5.3–5.7, client-features §3.3):
// kept in memory by taskID (the server re-sends them on every startup fetch), each tick runs the
// task through the task engine's pool, a tick is skipped while the previous run still runs, and
// the last cron occurrence is followed by a `stopped … result=completed` notice.
import {
  parseWireSchedule,
  offsetSecondsAt,
  type Report,
  type RunTaskEntry,
  type Schedule,
  type WallClock,
  type WireScheduleKind,
  type Zone,
} from '../../protocol/index.js';
import { localZone, type LocalZone, type Logger, type Service } from '../shared/index.js';
import type { ClockPort } from './clock.js';

/** What a finished run reported. */
export interface RunSummary {
  start: number;
  end: number;
  exitCode: number;
}

/** One run in the pool, as the pool hands it back. */
export interface RunHandle {
  readonly done: Promise<RunSummary | undefined>;
  /** Reports the run `stopped … result=killed` and kills it. */
  stop(invokeVersion: number): void;
}

/** The task engine, as the scheduler uses it. */
export interface RunPool {
  /** Queues one run; undefined when it cannot be taken (agent stopping, queue full). */
  submitPeriodicRun(
    entry: RunTaskEntry,
    instanceId: string,
    wallClock: () => WallClock | undefined,
  ): RunHandle | undefined;
  /** Durably queues a report (through the outbox). */
  queueReport(r: Extract<Report, { kind: 'invalid' | 'stopped' }>): Promise<void>;
}

export interface SchedulerOptions {
  pool: RunPool;
  log: Logger;
  clock: ClockPort;
  /**
   * The zone a cron expression without one is read in: a name (its offsets from Intl), or a zone.
   * Default: the host's zone (localZone), whose offsets come from Date rather than Intl.
   */
  systemTimeZone?: string | LocalZone;
}

interface Scheduled {
  readonly entry: RunTaskEntry;
  readonly instanceId: string;
  readonly schedule: Schedule;
  readonly log: Logger;
  cancelTimer: (() => void) | undefined;
  running: RunHandle | undefined;
  last: RunSummary | undefined;
  /** The last occurrence has fired: the schedule ends once its run is over. */
  ended: boolean;
}

/** The name of the host's zone (agent/shared/local-zone.ts). */
export function systemTimeZoneName(): string {
  return localZone().name;
}

/**
 * The zone a local cron runs in: the host's zone as Date sees it when $TZ or /etc/localtime named
 * it; otherwise (and for a name given by a test) the name, which parseWireSchedule reads with Intl.
 */
function scheduleZone(z: string | LocalZone): string | Zone {
  if (typeof z === 'string') {
    return z;
  }
  return z.source === 'intl' ? z.name : z;
}

export class Scheduler implements Service {
  readonly name = 'scheduler';
  readonly #o: SchedulerOptions;
  readonly #log: Logger;
  readonly #clock: ClockPort;
  readonly #systemTimeZone: string | Zone;
  readonly #tasks = new Map<string, Scheduled>();
  #stopped = false;

  constructor(o: SchedulerOptions) {
    this.#o = o;
    this.#log = o.log;
    this.#clock = o.clock;
    this.#systemTimeZone = scheduleZone(o.systemTimeZone ?? localZone());
  }

  /** Task ids with a live schedule. */
  get scheduledIds(): string[] {
    return [...this.#tasks.keys()];
  }

  start(): Promise<void> {
    this.#stopped = false;
    return Promise.resolve();
  }

  /** Drops every timer; runs in progress belong to the task engine, which stops them. */
  stop(): Promise<void> {
    this.#stopped = true;
    for (const s of this.#tasks.values()) {
      s.cancelTimer?.();
    }
    this.#tasks.clear();
    return Promise.resolve();
  }

  /**
   * A `run` entry of a periodic task (§5.3): the same invokeVersion again is a duplicate; another
   * one replaces the schedule silently. An invalid expression is reported
   * (`param=cron&value=<code>`), except an expired `At`, which the stock agent only logs.
   */
  schedule(entry: RunTaskEntry, instanceId: string): void {
    const taskId = entry.task.taskID;
    const invokeVersion = entry.task.invokeVersion;
    const log = this.#log.child({ taskId });
    if (this.#stopped) {
      return;
    }
    const old = this.#tasks.get(taskId);
    if (old !== undefined) {
      if (old.entry.task.invokeVersion === invokeVersion) {
        log.debug('periodic task already scheduled', { invokeVersion });
        return;
      }
      old.cancelTimer?.();
      this.#tasks.delete(taskId);
      log.info('periodic task replaced', { from: old.entry.task.invokeVersion, to: invokeVersion });
    }
    const now = this.#clock.now();
    const parsed = parseWireSchedule(
      entry.repeat as WireScheduleKind,
      entry.task.cron,
      entry.task.creationTime,
      now,
      this.#systemTimeZone,
    );
    if (!parsed.ok) {
      if (parsed.code === 'AtExpressionExpired') {
        log.warn('at task already past, not scheduled', { cron: entry.task.cron });
        return;
      }
      log.warn('periodic task invalid', { repeat: entry.repeat, cron: entry.task.cron, code: parsed.code });
      void this.#o.pool.queueReport({ kind: 'invalid', taskId, invokeVersion, param: 'cron', value: parsed.code });
      return;
    }
    const s: Scheduled = {
      entry,
      instanceId,
      schedule: parsed.schedule,
      log,
      cancelTimer: undefined,
      // A run of the replaced version still going: the new schedule does not overlap it either.
      running: old?.running,
      last: old?.last,
      ended: false,
    };
    this.#tasks.set(taskId, s);
    const first = this.#arm(s, now);
    log.info('periodic task scheduled', {
      invokeVersion,
      repeat: entry.repeat,
      cron: entry.task.cron,
      timeZone: parsed.schedule.timeZone,
      next: first === null ? null : new Date(first).toISOString(),
    });
  }

  /**
   * A `stop` entry of a periodic task (§5.7): the timer goes; a running run is killed and reported
   * `stopped … result=killed`; otherwise the report repeats the last run's start/end/exitcode
   * (zeros for a task this agent does not know).
   */
  stopTask(entry: RunTaskEntry): void {
    const taskId = entry.task.taskID;
    const invokeVersion = entry.task.invokeVersion;
    const log = this.#log.child({ taskId });
    const s = this.#tasks.get(taskId);
    if (s !== undefined) {
      s.cancelTimer?.();
      this.#tasks.delete(taskId);
    }
    if (s?.running !== undefined) {
      log.info('periodic task stopped while running', { invokeVersion });
      s.running.stop(invokeVersion);
      return;
    }
    log.info(s === undefined ? 'periodic task to stop not scheduled' : 'periodic task stopped', { invokeVersion });
    const last = s?.last ?? { start: 0, end: 0, exitCode: 0 };
    void this.#o.pool.queueReport({ kind: 'stopped', taskId, invokeVersion, result: 'killed', ...last, dropped: 0 });
  }

  /** Sets the timer for the next occurrence after `fromMs`; returns it, or null when there is none. */
  #arm(s: Scheduled, fromMs: number): number | null {
    const next = s.schedule.next(fromMs);
    s.cancelTimer = next === null ? undefined : this.#clock.setTimer(next, () => this.#fire(s, next));
    return next;
  }

  #fire(s: Scheduled, at: number): void {
    const taskId = s.entry.task.taskID;
    if (this.#stopped || this.#tasks.get(taskId) !== s) {
      return;
    }
    if (s.running !== undefined) {
      s.log.info('periodic run skipped, the previous run is still running', { at: new Date(at).toISOString() });
    } else {
      const handle = this.#o.pool.submitPeriodicRun(s.entry, s.instanceId, () => this.#wallClock(s));
      if (handle !== undefined) {
        s.running = handle;
        void handle.done.then((summary) => this.#runEnded(taskId, handle, summary));
      }
    }
    // A late timer (a busy loop, a suspended machine) does not replay missed occurrences.
    if (this.#arm(s, Math.max(at, this.#clock.now())) === null) {
      s.ended = true;
      if (s.running === undefined) {
        this.#end(s);
      }
    }
  }

  #runEnded(taskId: string, handle: RunHandle, summary: RunSummary | undefined): void {
    const s = this.#tasks.get(taskId);
    if (s === undefined || s.running !== handle) {
      return;
    }
    s.running = undefined;
    if (summary !== undefined) {
      s.last = summary;
    }
    if (s.ended) {
      this.#end(s);
    }
  }

  /** No occurrence is left: a cron task tells the server it is complete (§5.4); At just ends. */
  #end(s: Scheduled): void {
    const { taskID: taskId, invokeVersion } = s.entry.task;
    this.#tasks.delete(taskId);
    if (s.entry.repeat !== 'Period') {
      s.log.info('periodic task ended', { repeat: s.entry.repeat });
      return;
    }
    s.log.info('cron task completed', { invokeVersion });
    void this.#o.pool.queueReport({
      kind: 'stopped',
      taskId,
      invokeVersion,
      start: 0,
      end: 0,
      exitCode: 0,
      dropped: 0,
      result: 'completed',
    });
  }

  /** The local zone's offset from Date; a zone the expression names, from Intl. */
  #offsetSecondsAt(timeZone: string, atMs: number): number {
    const local = this.#systemTimeZone;
    return typeof local !== 'string' && local.name === timeZone
      ? Math.round(local.offsetMs(atMs) / 1000)
      : offsetSecondsAt(timeZone, atMs);
  }

  /** §5.6: Rate → currentTime; Period → also offset and zone of the expression (or the system's). */
  #wallClock(s: Scheduled): WallClock | undefined {
    const currentTime = this.#clock.now();
    switch (s.entry.repeat) {
      case 'Rate':
        return { currentTime };
      case 'Period':
        return {
          currentTime,
          offset: this.#offsetSecondsAt(s.schedule.timeZone, currentTime),
          timeZone: s.schedule.timeZone,
        };
      case 'At':
      case 'Once':
      case 'EveryReboot':
      case 'NextRebootOnly':
        return undefined;
    }
  }
}
