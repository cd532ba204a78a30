// One run of a one-shot task: pre-checks, script file, process, running and final reports
// (spec/luban-protocol.md §5.5–5.7); the checks and the script file live beside it.
import type { CommandType, RunTaskEntry, WallClock } from '../../protocol/index.js';
import { runProcess, type ExecOutcome, type Launch, type ProcessContainment } from '../executor/index.js';
import { ensureError } from '../shared/index.js';
import { OutputAccounting, reportIntervalMs } from './output-accounting.js';
import { powerActionFor, type PowerAction } from './power.js';
import type { OutboxReport } from './report-outbox.js';
import { taskEnv } from './run-as-user.js';
import { procStat, type RunningJournal } from './running-journal.js';
import { timeoutMs, taskError, truncateUtf8 } from './task-input.js';
import { precheck } from './task-precheck.js';
import { PrepareError, TaskScript, type ScriptContext } from './task-script.js';
import type { TaskReporter } from './task-reporter.js';

/** The script's part (run-as port, paths, platform, log, instance id) is ScriptContext. */
export interface TaskRunContext extends ScriptContext {
  /** Running reports (fire-and-forget). */
  reporter: TaskReporter;
  /** Queues a final/invalid/error report durably (the outbox); resolves once it is safe. */
  final: (r: OutboxReport, body?: Buffer, after?: PowerAction) => Promise<void>;
  journal: RunningJournal;
  killGraceMs?: number;
  /** Confines the task's process tree beyond its process group (Linux: a cgroup named after the task). */
  containment?: ProcessContainment;
  /**
   * Set for one run of a periodic task (Period/Rate/At): no running reports, the script file is
   * re-used, and the start and final reports carry what this returns (§5.4, §5.6).
   */
  wallClock?: () => WallClock | undefined;
}

/** What a finished run reported: the `stopped` report of an idle periodic task repeats it (§5.7). */
export interface RunSummary {
  start: number;
  end: number;
  exitCode: number;
}

/** Repeats whose runs come from a timer. */
export const PERIODIC_REPEATS: ReadonlySet<string> = new Set(['Period', 'Rate', 'At']);

/** What a `stopped` report carries about a run that is being cancelled (§5.7). */
export interface StopSnapshot {
  start: number;
  body: Buffer;
  dropped: number;
}

export class TaskRun {
  readonly taskId: string;
  readonly invokeVersion: number;
  readonly #ctx: TaskRunContext;
  readonly #entry: RunTaskEntry;
  readonly #abort = new AbortController();
  readonly #acct: OutputAccounting;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #script: TaskScript;
  /** Set by cancel(): from then on this run reports nothing. */
  #silenced = false;
  #startedAt: number | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #done: Promise<void> | undefined;
  #summary: RunSummary | undefined;
  readonly #settled: Promise<void>;
  #settle: () => void = () => {};

  constructor(ctx: TaskRunContext, entry: RunTaskEntry) {
    this.#ctx = ctx;
    this.#entry = entry;
    this.taskId = entry.task.taskID;
    this.invokeVersion = entry.task.invokeVersion;
    this.#acct = new OutputAccounting({ logQuota: entry.output.logQuota, skipEmpty: entry.output.skipEmpty });
    this.#script = new TaskScript(
      ctx,
      entry.task,
      entry.repeat === 'EveryReboot' || PERIODIC_REPEATS.has(entry.repeat),
    );
    this.#settled = new Promise((resolve) => (this.#settle = resolve));
  }

  /** Starts the run once; the promise settles when it is over (reports sent or given up). Never rejects. */
  start(): Promise<void> {
    this.#done ??= this.#run()
      .catch((e: unknown) => {
        this.#ctx.log.error('task run crashed', { err: ensureError(e) });
      })
      .finally(() => this.#settle());
    return this.#done;
  }

  /** Settles when the run is over, or at once when it was cancelled before it started. Never rejects. */
  settled(): Promise<void> {
    return this.#settled;
  }

  /** start/end/exitCode of the report this run sent; undefined before it ends or when it sent none. */
  get summary(): RunSummary | undefined {
    return this.#summary;
  }

  get #periodic(): boolean {
    return this.#ctx.wallClock !== undefined;
  }

  #extras(): { wallClock?: WallClock } {
    const w = this.#ctx.wallClock?.();
    return w === undefined ? {} : { wallClock: w };
  }

  /**
   * Stops the run for good: no further report of any kind, and the process tree is killed.
   * Returns what the `stopped` report should carry (the final buffer as of now).
   */
  cancel(): StopSnapshot {
    const final = this.#acct.final();
    const snapshot = { start: this.#startedAt ?? 0, body: final.body, dropped: final.dropped };
    if (!this.#silenced) {
      this.#silenced = true;
      clearInterval(this.#ticker);
      this.#abort.abort();
      this.#ctx.log.info('task cancelled');
      if (this.#done === undefined) {
        this.#settle();
      }
    }
    return snapshot;
  }

  async #run(): Promise<void> {
    const { log } = this.#ctx;
    const task = this.#entry.task;
    const pre = await precheck(task, this.#ctx.platform, log);
    if (this.#silenced) {
      return;
    }
    if (!pre.ok) {
      log.warn('task invalid', { param: pre.param });
      await this.#report({ ...this.#base(), kind: 'invalid', param: pre.param, value: pre.value });
      return;
    }

    let launch: Launch;
    try {
      launch = await this.#script.prepare(pre.type, pre.user, pre.cwd);
    } catch (e) {
      if (!(e instanceof PrepareError)) {
        throw e;
      }
      log.warn('task prepare failed', { errCode: e.errCode });
      await this.#report({ ...this.#final(0, 0, 0, 0), kind: 'error', errCode: e.errCode, errDesc: e.errDesc });
      return;
    }
    if (this.#silenced) {
      return;
    }
    // The journal entry exists before the process does: if the agent dies from here on, its next
    // start reports the task (InstanceRestarted) instead of leaving it running forever.
    await this.#ctx.journal.write({ ...this.#base(), start: Date.now() });
    if (this.#silenced) {
      return;
    }

    const running = runProcess(
      {
        command: launch.command,
        args: launch.args,
        ...(launch.input !== undefined ? { input: launch.input } : {}),
        cwd: pre.cwd,
        env: taskEnv(pre.user),
        timeoutMs: timeoutMs(task.timeOut),
        ...(this.#ctx.killGraceMs !== undefined ? { killGraceMs: this.#ctx.killGraceMs } : {}),
        ...(this.#ctx.containment !== undefined ? { containment: this.#ctx.containment, label: this.taskId } : {}),
      },
      (chunk) => this.#acct.push(chunk),
      this.#abort.signal,
      (pid, startedAt) => this.#onStarted(pid, startedAt),
    );
    const outcome = await running.outcome;
    clearInterval(this.#ticker);
    if (task.secretContent) {
      await this.#script.wipe();
    }
    if (this.#silenced) {
      return;
    }
    // Running reports are fire-and-forget, but the final report must not overtake them.
    await Promise.all(this.#inFlight);
    if (this.#silenced) {
      return;
    }
    await this.#finish(outcome, pre.type);
    // The final report is in the outbox: the task no longer needs its journal entry.
    await this.#ctx.journal.remove(this.taskId);
  }

  #base(): { taskId: string; invokeVersion: number } {
    return { taskId: this.taskId, invokeVersion: this.invokeVersion };
  }

  #final(start: number, end: number, exitCode: number, dropped: number) {
    return { ...this.#base(), start, end, exitCode, dropped };
  }

  async #report(r: OutboxReport, body?: Buffer, after?: PowerAction): Promise<void> {
    if (this.#silenced) {
      return;
    }
    if (r.kind === 'finish' || r.kind === 'timeout' || r.kind === 'error') {
      this.#summary = { start: r.start, end: r.end, exitCode: r.exitCode };
      r = { ...r, ...this.#extras() };
    }
    await this.#ctx.final(r, body, after);
  }

  /**
   * One running report at a time: a body whose report failed goes back to the output accounting
   * (in order, since nothing was sent after it), so a server that is away loses no output.
   */
  #sendRunning(body: Buffer): void {
    if (this.#silenced || this.#startedAt === undefined) {
      return;
    }
    const p = this.#ctx.reporter
      .running({ ...this.#base(), kind: 'running', start: this.#startedAt, ...this.#extras() }, body)
      .then((delivered) => {
        if (!delivered) {
          this.#acct.giveBack(body);
        }
      });
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  #onStarted(pid: number, startedAt: number): void {
    this.#startedAt = startedAt;
    this.#ctx.log.info('task started', { pid });
    if (this.#silenced) {
      return;
    }
    // Now the pid is known: the journal can name the process group to clean up after a crash.
    const st = this.#ctx.platform === 'linux' ? procStat(pid) : undefined;
    void this.#ctx.journal.write({
      ...this.#base(),
      start: startedAt,
      pid,
      ...(st !== undefined ? { procStart: st.startTicks } : {}),
    });
    this.#acct.started(Date.now());
    if (this.#entry.output.sendStart) {
      this.#sendRunning(Buffer.alloc(0));
    }
    if (this.#periodic) {
      return; // periodic runs send no running reports: all output goes into the final one (§5.4)
    }
    this.#ticker = setInterval(() => {
      if (this.#inFlight.size > 0) {
        return; // the previous running report is still out: its body may yet come back
      }
      const body = this.#acct.tick(Date.now());
      if (body !== undefined) {
        this.#sendRunning(body);
      }
    }, reportIntervalMs(this.#entry.output.interval));
  }

  async #finish(outcome: ExecOutcome, type: CommandType): Promise<void> {
    const { log, platform } = this.#ctx;
    const { body, dropped } = this.#acct.final();
    switch (outcome.kind) {
      case 'exited': {
        log.info('task finished', { exitCode: outcome.exitCode, signal: outcome.signal, dropped });
        // §5.6 step 9: done by the outbox once the server has accepted this report.
        const power = outcome.signal === null ? powerActionFor(outcome.exitCode, platform) : undefined;
        if (power !== undefined) {
          log.warn('task asks for a power action', { action: power, exitCode: outcome.exitCode });
        }
        return this.#report(
          { ...this.#final(outcome.startedAt, outcome.endedAt, outcome.exitCode, dropped), kind: 'finish' },
          body,
          power,
        );
      }
      case 'timedOut':
        log.info('task timed out', { dropped });
        return this.#report({ ...this.#final(outcome.startedAt, outcome.endedAt, 1, dropped), kind: 'timeout' }, body);
      case 'cancelled':
        // Only cancel() aborts, and it silences the run first: the stopped report was already sent.
        return;
      case 'failedToStart': {
        const err =
          type === 'RunPowerShellScript' && outcome.code === 'ENOENT'
            ? { errCode: '-10', errDesc: truncateUtf8(`PowershellNotFound: ${outcome.message}`) }
            : taskError('ExecuteScriptFailed', -7, outcome.code, outcome.message, platform);
        log.warn('task failed to start', { errCode: err.errCode, code: outcome.code });
        return this.#report({ ...this.#final(0, 0, 0, 0), kind: 'error', ...err });
      }
    }
  }
}
