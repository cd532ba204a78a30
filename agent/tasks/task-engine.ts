// The task engine: fetches the task list when told to, runs one-shot tasks, handles stop entries
// (spec/luban-protocol.md §5.1–5.8).
import type { RunTaskEntry, TaskListResponse } from '../../protocol/index.js';
import { ensureError, sleep, type AgentPaths, type HttpClient, type Logger, type Service } from '../shared/index.js';
import { fetchTaskList, type FetchRequest } from './task-fetcher.js';
import { TaskReporter } from './task-reporter.js';
import { TaskRun } from './task-runner.js';

export interface TaskEngineOptions {
  /** `host[:port]` of the luban API. */
  host: string;
  http: HttpClient;
  log: Logger;
  paths: AgentPaths;
  platform?: NodeJS.Platform;
  /** Between final/stopped/invalid report attempts; default 2000. */
  reportRetryDelayMs?: number;
  /** Between task-list fetch attempts and 408 rounds; default 2000. */
  fetchRetryDelayMs?: number;
  /** A kick whose fetch brings no run/stop entry fetches once more after this; default 3000. */
  emptyKickRefetchMs?: number;
  /** TERM → KILL grace when a task times out or is stopped; the executor's default when absent. */
  killGraceMs?: number;
}

export type FetchOptions = { reason: 'startup'; coldStart: boolean } | { reason: 'kickoff'; taskId?: string };

/** Repeats that run right away; the others are put on timers (a later issue). */
const IMMEDIATE = new Set(['Once', 'NextRebootOnly', 'EveryReboot']);

export class TaskEngine implements Service {
  readonly name = 'task-engine';
  readonly #o: TaskEngineOptions;
  readonly #log: Logger;
  readonly #stopping = new AbortController();
  readonly #reporter: TaskReporter;
  /** Running (or preparing) one-shot tasks by taskID (§5.8). */
  readonly #running = new Map<string, TaskRun>();
  /** Everything idle() waits for: task runs and stop reports. */
  readonly #work = new Set<Promise<void>>();
  /** Fetches run one at a time. */
  #fetchChain: Promise<void> = Promise.resolve();

  constructor(o: TaskEngineOptions) {
    this.#o = o;
    this.#log = o.log;
    this.#reporter = new TaskReporter({
      host: o.host,
      http: o.http,
      log: o.log,
      retryDelayMs: o.reportRetryDelayMs ?? 2_000,
      signal: this.#stopping.signal,
    });
  }

  get runningCount(): number {
    return this.#running.size;
  }

  async start(): Promise<void> {
    this.#log.info('task engine started');
  }

  /** Cancels every running task (they report nothing further) and waits for them until `deadline`. */
  async stop(deadline: AbortSignal): Promise<void> {
    this.#stopping.abort();
    for (const run of this.#running.values()) {
      run.cancel();
    }
    const aborted = new Promise<void>((resolve) => {
      if (deadline.aborted) {
        resolve();
      }
      deadline.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([this.idle(), aborted]);
    this.#log.info('task engine stopped', { running: this.#running.size });
  }

  /** Resolves when no task is running and no stop report is pending. */
  async idle(): Promise<void> {
    while (this.#work.size > 0) {
      await Promise.all([...this.#work]);
    }
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
      if (o.reason === 'kickoff' && list !== undefined && list.run.length + list.stop.length === 0) {
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
    const unsupported = { file: list.file.length, session: list.session.length, test: list.test.length };
    if (unsupported.file + unsupported.session + unsupported.test > 0) {
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
    if (!IMMEDIATE.has(entry.repeat)) {
      log.warn('periodic tasks are not supported yet', { repeat: entry.repeat });
      return;
    }
    if (this.#running.has(taskId)) {
      log.info('task already running', { invokeVersion: entry.task.invokeVersion });
      return;
    }
    const run = new TaskRun(
      {
        reporter: this.#reporter,
        paths: this.#o.paths,
        platform: this.#o.platform ?? process.platform,
        ...(this.#o.killGraceMs !== undefined ? { killGraceMs: this.#o.killGraceMs } : {}),
        log,
        instanceId,
      },
      entry,
    );
    this.#running.set(taskId, run);
    log.info('task accepted', { invokeVersion: entry.task.invokeVersion, repeat: entry.repeat });
    this.#track(
      run.start().finally(() => {
        if (this.#running.get(taskId) === run) {
          this.#running.delete(taskId);
        }
      }),
    );
  }

  /** §5.7: a running one-shot task is reported `stopped` and killed; an unknown one gets the zero report. */
  #stopEntry(entry: RunTaskEntry): void {
    const taskId = entry.task.taskID;
    const log = this.#log.child({ taskId });
    const run = this.#running.get(taskId);
    const base = { kind: 'stopped', taskId, invokeVersion: entry.task.invokeVersion, result: 'killed' } as const;
    if (run === undefined) {
      log.info('task to stop not running');
      this.#track(this.#sendQuietly(this.#reporter.send({ ...base, start: 0, end: 0, exitCode: 0, dropped: 0 })));
      return;
    }
    const snap = run.cancel();
    const end = snap.start === 0 ? 0 : Date.now();
    log.info('task stopped', { dropped: snap.dropped });
    this.#track(
      this.#sendQuietly(
        this.#reporter.send({ ...base, start: snap.start, end, exitCode: 0, dropped: snap.dropped }, snap.body),
      ),
    );
  }

  async #sendQuietly(p: Promise<boolean>): Promise<void> {
    await p.catch((e: unknown) => this.#log.error('task report crashed', { err: ensureError(e) }));
  }

  #track(p: Promise<void>): void {
    this.#work.add(p);
    void p.finally(() => this.#work.delete(p));
  }
}
