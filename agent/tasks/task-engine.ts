// The task engine: fetches the task list when told to, runs one-shot tasks (at most `maxRunning`
// at a time, `maxQueued` waiting), handles stop entries (spec/luban-protocol.md §5.1–5.8), keeps
// final reports in a durable outbox and a journal of running tasks (so a restart loses nothing).
import { join } from 'node:path';
import type { RunTaskEntry, TaskListResponse, WallClock } from '../../protocol/index.js';
import { ensureError, sleep, type AgentPaths, type Logger, type Service } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { IdleReclaimer, type ProcessContainment } from '../executor/index.js';
import type { PowerPort } from './power.js';
import { ReportOutbox, type OutboxEntry, type OutboxItem, type OutboxReport } from './report-outbox.js';
import { defaultRunAs, type RunAsPort } from './run-as-user.js';
import { INSTANCE_RESTARTED_CODE, INSTANCE_RESTARTED_DESC, RunningJournal, killLeftovers } from './running-journal.js';
import { runFileEntries, type SendFilePort } from './file-tasks.js';
import { fetchTaskList, type FetchRequest } from './task-fetcher.js';
import { TaskReporter } from './task-reporter.js';
import { PERIODIC_REPEATS, TaskRun, type RunSummary } from './task-runner.js';

export interface TaskEngineOptions {
  /** `host[:port]` of the luban API. */
  host: string;
  http: HttpClient;
  log: Logger;
  paths: AgentPaths;
  /** Power off / reboot for exit codes 193/194 (3009/3010). Required: a test must never get the real one by default. */
  power: PowerPort;
  /** How tasks run as another user; default: setpriv on POSIX, the logon launcher on Windows. */
  runAs?: RunAsPort;
  platform?: NodeJS.Platform;
  /** Tasks running at once; default 10 (stock pool size). */
  maxRunning?: number;
  /** Tasks waiting for a slot; default 50. Beyond it a task is refused with an `error` report. */
  maxQueued?: number;
  /** Final report retry delays: initialMs doubling to maxMs, jittered; default 1 s → 60 s. */
  reportRetry?: { initialMs: number; maxMs: number };
  /** Between task-list fetch attempts and 408 rounds; default 2000. */
  fetchRetryDelayMs?: number;
  /** A kick whose fetch brings no run/stop entry fetches once more after this; default 3000. */
  emptyKickRefetchMs?: number;
  /** TERM → KILL grace when a task times out or is stopped; the executor's default when absent. */
  killGraceMs?: number;
  /** Where each task's process tree is confined (Linux: a cgroup per task); default: its process group only. */
  containment?: ProcessContainment;
}

export type FetchOptions = { reason: 'startup'; coldStart: boolean } | { reason: 'kickoff'; taskId?: string };

/**
 * Where `run` and `stop` entries of periodic tasks (Period/Rate/At) go: the scheduler
 * (agent/scheduler), which puts them on timers and runs them through submitPeriodicRun().
 */
export interface PeriodicPort {
  schedule(entry: RunTaskEntry, instanceId: string): void;
  stopTask(entry: RunTaskEntry): void;
}

/** One run of a periodic task in the pool. */
export interface PeriodicRunHandle {
  /** Settles with what the run reported (undefined when it reported nothing) once it is over. */
  readonly done: Promise<RunSummary | undefined>;
  /** §5.7: `stopped … result=killed` with what the run has so far, then the process is killed. */
  stop(invokeVersion: number): void;
}

export const DEFAULT_MAX_RUNNING = 10;
export const DEFAULT_MAX_QUEUED = 50;
/** errCode of a task refused because the queue is full (stock "general error"); errDesc starts with TaskQueueFull. */
export const QUEUE_FULL_CODE = '-13';
export const queueFullDesc = (running: number, queued: number): string =>
  `TaskQueueFull: the agent is running ${running} tasks and has ${queued} waiting; this task was not run`;

export class TaskEngine implements Service {
  readonly name = 'task-engine';
  readonly #o: TaskEngineOptions;
  readonly #log: Logger;
  readonly #stopping = new AbortController();
  readonly #reporter: TaskReporter;
  readonly #outbox: ReportOutbox;
  readonly #journal: RunningJournal;
  readonly #runAs: RunAsPort;
  readonly #maxRunning: number;
  readonly #maxQueued: number;
  /** Running or queued one-shot tasks by taskID (§5.8). */
  readonly #tasks = new Map<string, TaskRun>();
  /** Accepted runs waiting for a slot, oldest first. */
  readonly #queue: TaskRun[] = [];
  #active = 0;
  /** Everything idle() waits for: task runs and stop reports. */
  readonly #work = new Set<Promise<void>>();
  /** A young-generation collection once the work has ended and stayed ended a while. */
  readonly #reclaim = new IdleReclaimer();
  /** Fetches run one at a time. */
  #fetchChain: Promise<void> = Promise.resolve();
  /** Runs of periodic tasks, running or queued. */
  readonly #periodicRuns = new Set<TaskRun>();
  #periodic: PeriodicPort | undefined;
  /** Where `file` entries go (agent/files). */
  #files: SendFilePort | undefined;
  /** Where `session` entries go (agent/session). */
  #sessions: ((entries: readonly unknown[]) => void) | undefined;

  constructor(o: TaskEngineOptions) {
    this.#o = o;
    this.#log = o.log;
    this.#maxRunning = Math.max(1, o.maxRunning ?? DEFAULT_MAX_RUNNING);
    this.#maxQueued = Math.max(0, o.maxQueued ?? DEFAULT_MAX_QUEUED);
    this.#runAs = o.runAs ?? defaultRunAs(o.platform ?? process.platform);
    this.#reporter = new TaskReporter({ host: o.host, http: o.http, log: o.log, signal: this.#stopping.signal });
    this.#journal = new RunningJournal(join(o.paths.stateDir, 'running'), o.log);
    this.#outbox = new ReportOutbox({
      dir: join(o.paths.stateDir, 'outbox'),
      log: o.log,
      post: (r, body) => this.#reporter.post(r, body),
      onAccepted: (e) => this.#accepted(e),
      ...(o.reportRetry ? { retry: o.reportRetry } : {}),
    });
  }

  /** Sends periodic `run`/`stop` entries to the scheduler (set once, before the first fetch). */
  usePeriodic(port: PeriodicPort): void {
    this.#periodic = port;
  }

  /** Sends `file` entries to the file sender (set once, before the first fetch). */
  useFiles(port: SendFilePort): void {
    this.#files = port;
  }

  /** Starts the task list's `session` entries (§5.2: after the files, asynchronously). */
  useSessions(start: (entries: readonly unknown[]) => void): void {
    this.#sessions = start;
  }

  /** Tasks whose process is being prepared or runs. */
  get runningCount(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot. */
  get queuedCount(): number {
    return this.#queue.length;
  }

  /** Final reports not yet accepted by the server. */
  get pendingReports(): number {
    return this.#outbox.pendingCount;
  }

  /**
   * Opens the outbox and the journal. Tasks an earlier run left in the journal were lost with it:
   * each gets an `error` report (InstanceRestarted) and what is left of its processes is killed.
   * Then everything in the outbox is sent.
   */
  async start(): Promise<void> {
    await this.#outbox.open();
    const leftovers = await this.#journal.leftovers().catch((e: unknown) => {
      this.#log.error('running journal unusable', { err: ensureError(e) });
      return [];
    });
    for (const r of leftovers) {
      const killed = killLeftovers(r, this.#o.platform ?? process.platform);
      this.#log.warn('task lost by an agent restart', { taskId: r.taskId, start: r.start, killed: killed.length });
      await this.#outbox.put({
        kind: 'error',
        taskId: r.taskId,
        invokeVersion: r.invokeVersion,
        start: r.start,
        end: Date.now(),
        exitCode: 0,
        dropped: 0,
        errCode: INSTANCE_RESTARTED_CODE,
        errDesc: INSTANCE_RESTARTED_DESC,
      });
      await this.#journal.discard(r).catch((e: unknown) => {
        this.#log.error('running journal entry not removed', { taskId: r.taskId, err: ensureError(e) });
      });
    }
    this.#outbox.startSending();
    this.#log.info('task engine started', { pendingReports: this.#outbox.pendingCount });
  }

  /**
   * Cancels every running task (they report nothing further: their journal entries make the next
   * start report them) and waits for them until `deadline`. Unsent reports stay in the outbox.
   */
  async stop(deadline: AbortSignal): Promise<void> {
    this.#stopping.abort();
    this.#queue.length = 0;
    for (const run of [...this.#tasks.values(), ...this.#periodicRuns]) {
      run.cancel();
    }
    this.#outbox.stop();
    const aborted = new Promise<void>((resolve) => {
      if (deadline.aborted) {
        resolve();
      }
      deadline.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([this.idle(), aborted]);
    this.#reclaim.stop();
    this.#log.info('task engine stopped', { running: this.#active, pendingReports: this.#outbox.pendingCount });
  }

  /** Resolves when no task is running or queued and no report is being sent. */
  async idle(): Promise<void> {
    while (this.#work.size > 0 || this.#outbox.busy) {
      await Promise.all([...this.#work]);
      await this.#outbox.idle();
      if (this.#stopping.signal.aborted) {
        return;
      }
    }
  }

  /** The server answered (the notify channel connected): reports waiting for a retry go now. */
  serverReachable(): void {
    this.#outbox.wake();
  }

  /** Fetches and dispatches the task list. Never throws; problems are logged. */
  async fetch(o: FetchOptions): Promise<void> {
    const req: FetchRequest =
      o.reason === 'startup'
        ? { reason: 'startup', coldStart: o.coldStart }
        : { reason: 'kickoff', ...(o.taskId !== undefined ? { taskId: o.taskId } : {}) };
    try {
      const list = await this.#serialised(req);
      // A kick can race the server's commit of the invocation: look once more a little later.
      if (o.reason === 'kickoff' && list !== undefined && list.run.length + list.stop.length + list.file.length === 0) {
        this.#log.debug('task list empty after kick', { taskId: req.taskId });
        if (await sleep(this.#o.emptyKickRefetchMs ?? 3_000, this.#stopping.signal)) {
          await this.#serialised(req);
        }
      }
    } catch (e) {
      this.#log.error('task fetch crashed', { reason: o.reason, err: ensureError(e) });
    }
  }

  #serialised(req: FetchRequest): Promise<TaskListResponse | undefined> {
    const p = this.#fetchChain.then(async () => {
      if (this.#stopping.signal.aborted) {
        return undefined;
      }
      const list = await fetchTaskList(
        {
          host: this.#o.host,
          http: this.#o.http,
          log: this.#log,
          retryDelayMs: this.#o.fetchRetryDelayMs ?? 2_000,
          signal: this.#stopping.signal,
        },
        req,
      );
      if (list !== undefined && !this.#stopping.signal.aborted) {
        this.#outbox.wake();
        // Files first and in order, inside the fetch chain: a refetch cannot hand one out twice.
        await runFileEntries(list.file, {
          files: this.#files,
          log: this.#log,
          reported: (id) => this.#outbox.has(id),
          final: (r) => this.#final(r),
        });
        this.#dispatch(list);
      }
      return list;
    });
    this.#fetchChain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  #dispatch(list: TaskListResponse): void {
    if (list.session.length > 0 && this.#sessions) {
      this.#sessions(list.session);
    }
    const unsupported = { session: this.#sessions ? 0 : list.session.length, test: list.test.length };
    if (unsupported.session + unsupported.test > 0) {
      this.#log.warn('task list entries not supported yet', unsupported);
    }
    this.#log.info('task list fetched', { run: list.run.length, stop: list.stop.length });
    for (const entry of list.run) {
      this.#runEntry(entry, list.instanceId);
    }
    for (const entry of list.stop) {
      this.#stopEntry(entry);
    }
  }

  #runEntry(entry: RunTaskEntry, instanceId: string): void {
    const taskId = entry.task.taskID;
    const log = this.#log.child({ taskId });
    if (PERIODIC_REPEATS.has(entry.repeat)) {
      if (this.#periodic === undefined) {
        log.warn('periodic task not scheduled: no scheduler', { repeat: entry.repeat });
      } else {
        this.#periodic.schedule(entry, instanceId);
      }
      return;
    }
    if (this.#tasks.has(taskId)) {
      log.info('task already running', { invokeVersion: entry.task.invokeVersion });
      return;
    }
    // Re-delivered while its final report waits for the server (which still sees it unfinished):
    // the report will settle it; neither a second run nor a ScriptFileExisted error is wanted.
    if (this.#outbox.has(taskId)) {
      log.info('task already finished, its report is pending', { invokeVersion: entry.task.invokeVersion });
      return;
    }
    if (this.#active >= this.#maxRunning && this.#queue.length >= this.#maxQueued) {
      log.warn('task refused, queue full', { running: this.#active, queued: this.#queue.length });
      this.#track(
        this.#final({
          kind: 'error',
          taskId,
          invokeVersion: entry.task.invokeVersion,
          start: 0,
          end: 0,
          exitCode: 0,
          dropped: 0,
          errCode: QUEUE_FULL_CODE,
          errDesc: queueFullDesc(this.#active, this.#queue.length),
        }),
      );
      return;
    }
    const run = this.#newRun(entry, instanceId, log);
    this.#tasks.set(taskId, run);
    this.#queue.push(run);
    log.info('task accepted', {
      invokeVersion: entry.task.invokeVersion,
      repeat: entry.repeat,
      waiting: this.#active >= this.#maxRunning,
    });
    this.#pump();
  }

  #newRun(entry: RunTaskEntry, instanceId: string, log: Logger, wallClock?: () => WallClock | undefined): TaskRun {
    return new TaskRun(
      {
        reporter: this.#reporter,
        final: (r, body, after) => this.#final(r, body, after),
        journal: this.#journal,
        runAs: this.#runAs,
        paths: this.#o.paths,
        platform: this.#o.platform ?? process.platform,
        ...(this.#o.killGraceMs !== undefined ? { killGraceMs: this.#o.killGraceMs } : {}),
        ...(this.#o.containment !== undefined ? { containment: this.#o.containment } : {}),
        log,
        instanceId,
        ...(wallClock !== undefined ? { wallClock } : {}),
      },
      entry,
    );
  }

  /**
   * Queues one run of a periodic task in the pool (the scheduler's tick). Returns undefined when
   * the agent is stopping or the queue is full (the tick is skipped and logged). Its final report
   * goes through the outbox like every other.
   */
  submitPeriodicRun(
    entry: RunTaskEntry,
    instanceId: string,
    wallClock: () => WallClock | undefined,
  ): PeriodicRunHandle | undefined {
    const taskId = entry.task.taskID;
    const log = this.#log.child({ taskId });
    if (this.#stopping.signal.aborted) {
      return undefined;
    }
    if (this.#active >= this.#maxRunning && this.#queue.length >= this.#maxQueued) {
      log.warn('periodic run skipped, queue full', { running: this.#active, queued: this.#queue.length });
      return undefined;
    }
    const run = this.#newRun(entry, instanceId, log, wallClock);
    this.#periodicRuns.add(run);
    this.#queue.push(run);
    const done = run.settled().then(() => {
      this.#periodicRuns.delete(run);
      return run.summary;
    });
    this.#pump();
    return {
      done,
      stop: (invokeVersion) => this.#stopRun(run, { ...entry, task: { ...entry.task, invokeVersion } }),
    };
  }

  /** Queues a report of the scheduler (invalid, stopped) in the outbox. Never rejects. */
  queueReport(r: OutboxReport, body?: Buffer): Promise<void> {
    const p = this.#final(r, body);
    this.#track(p);
    return p;
  }

  /** Starts queued runs while there is a free slot. */
  #pump(): void {
    while (this.#active < this.#maxRunning && this.#queue.length > 0 && !this.#stopping.signal.aborted) {
      const run = this.#queue.shift()!;
      this.#active += 1;
      this.#track(
        run.start().finally(() => {
          this.#active -= 1;
          if (this.#tasks.get(run.taskId) === run) {
            this.#tasks.delete(run.taskId);
          }
          this.#pump();
        }),
      );
    }
  }

  /** §5.7: a running one-shot task is reported `stopped` and killed; an unknown one gets the zero report. */
  #stopEntry(entry: RunTaskEntry): void {
    const taskId = entry.task.taskID;
    const log = this.#log.child({ taskId });
    if (PERIODIC_REPEATS.has(entry.repeat) && this.#periodic !== undefined) {
      this.#periodic.stopTask(entry);
      return;
    }
    const run = this.#tasks.get(taskId);
    if (run === undefined) {
      log.info('task to stop not running');
      const base = { kind: 'stopped', taskId, invokeVersion: entry.task.invokeVersion, result: 'killed' } as const;
      this.#track(this.#final({ ...base, start: 0, end: 0, exitCode: 0, dropped: 0 }));
      return;
    }
    this.#stopRun(run, entry);
  }

  /** Cancels a running or queued run and reports it `stopped … result=killed` (§5.7). */
  #stopRun(run: TaskRun, entry: RunTaskEntry): void {
    const taskId = entry.task.taskID;
    const log = this.#log.child({ taskId });
    const base = { kind: 'stopped', taskId, invokeVersion: entry.task.invokeVersion, result: 'killed' } as const;
    const queued = this.#queue.indexOf(run);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      if (this.#tasks.get(taskId) === run) {
        this.#tasks.delete(taskId);
      }
    }
    const snap = run.cancel();
    const end = snap.start === 0 ? 0 : Date.now();
    log.info('task stopped', { dropped: snap.dropped, queued: queued >= 0 });
    this.#track(
      (async () => {
        await this.#final({ ...base, start: snap.start, end, exitCode: 0, dropped: snap.dropped }, snap.body);
        await this.#journal.remove(taskId);
      })(),
    );
  }

  /** Queues a final-type report in the outbox. Never rejects. */
  async #final(r: OutboxItem, body?: Buffer, after?: OutboxEntry['after']): Promise<void> {
    try {
      await this.#outbox.put(r, body, after);
    } catch (e) {
      this.#log.error('task report lost', { taskId: r.taskId, kind: r.kind, err: ensureError(e) });
    }
  }

  #accepted(e: OutboxEntry): void {
    if (e.after === undefined) {
      return;
    }
    this.#log.warn('power action after the final report', { taskId: e.report.taskId, action: e.after });
    this.#o.power
      .request(e.after, { taskId: e.report.taskId })
      .catch((err: unknown) => this.#log.error('power action crashed', { err: ensureError(err) }));
  }

  #track(p: Promise<void>): void {
    this.#work.add(p);
    void p.finally(() => {
      this.#work.delete(p);
      if (this.#work.size === 0) {
        this.#reclaim.drained();
      }
    });
  }
}
