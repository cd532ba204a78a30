// One run of a one-shot task: pre-checks, script file, process, running and final reports
// (spec/luban-protocol.md §5.5–5.7).
import { constants as fsConstants } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isCommandType, type CommandType, type RunTaskEntry, type WallClock } from '../../protocol/index.js';
import {
  runProcess,
  scriptCommand,
  scriptPrelude,
  type ExecOutcome,
  type Launch,
  type ProcessContainment,
} from '../executor/index.js';
import { ensureError, type AgentPaths, type Logger } from '../shared/index.js';
import { ensurePrivateDir } from './durable-files.js';
import { OutputAccounting, reportIntervalMs } from './output-accounting.js';
import { powerActionFor, type PowerAction } from './power.js';
import type { OutboxReport } from './report-outbox.js';
import { UserLookupError, lookupUser, spawnIdentity, taskEnv, type RunAsPort, type TaskUser } from './run-as-user.js';
import { procStat, type RunningJournal } from './running-journal.js';
import {
  base64Problem,
  builtInParameters,
  decodeBase64,
  runnableTypes,
  scriptFileName,
  substituteParameters,
  taskError,
  timeoutMs,
  truncateUtf8,
} from './task-input.js';
import type { TaskReporter } from './task-reporter.js';

export interface TaskRunContext {
  /** Running reports (fire-and-forget). */
  reporter: TaskReporter;
  /** Queues a final/invalid/error report durably (the outbox); resolves once it is safe. */
  final: (r: OutboxReport, body?: Buffer, after?: PowerAction) => Promise<void>;
  journal: RunningJournal;
  runAs: RunAsPort;
  paths: AgentPaths;
  platform: NodeJS.Platform;
  killGraceMs?: number;
  /** Confines the task's process tree beyond its process group (Linux: a cgroup named after the task). */
  containment?: ProcessContainment;
  /** Already carries the taskId field. */
  log: Logger;
  /** Top-level `instanceId` of the fetch response (builtin parameter InstanceId). */
  instanceId: string;
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

/**
 * Where scripts of tasks that run as another user live: a root-owned 0711 sibling of the 0700
 * script dir. The user can reach its own file by name but cannot list or create anything there.
 */
export const userScriptDir = (paths: AgentPaths): string => join(dirname(paths.scriptDir), 'script-user');

type Prepared =
  { ok: true; user: TaskUser; cwd: string; type: CommandType } | { ok: false; param: string; value: string };

/** A failure before the process starts: an `error` report with start=end=0 and an empty body. */
class PrepareError extends Error {
  readonly errCode: string;
  readonly errDesc: string;
  constructor(errCode: string, errDesc: string) {
    super(errDesc);
    this.errCode = errCode;
    this.errDesc = truncateUtf8(errDesc);
  }
}

const SHELL_SAFE_PATH = /^[A-Za-z0-9._/-]+$/;
/** `sh -c <path>` parses the path: quote it unless it is plainly safe. */
const shellQuote = (s: string): string => (SHELL_SAFE_PATH.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export class TaskRun {
  readonly taskId: string;
  readonly invokeVersion: number;
  readonly #ctx: TaskRunContext;
  readonly #entry: RunTaskEntry;
  readonly #abort = new AbortController();
  readonly #acct: OutputAccounting;
  readonly #inFlight = new Set<Promise<void>>();
  /** The script file of this run, once written. */
  #scriptPath: string | undefined;
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
    const pre = await this.#precheck();
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
      launch = await this.#prepare(pre.type, pre.user, pre.cwd);
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
      await this.#wipeScript();
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

  /** §5.6 step 1: the checks whose failure is an `invalid` report and nothing else. */
  async #precheck(): Promise<Prepared> {
    const task = this.#entry.task;
    const type = task.type;
    if (!isCommandType(type) || !runnableTypes(this.#ctx.platform).includes(type)) {
      return { ok: false, param: 'TypeInvalid', value: `TypeInvalid_${type}` };
    }
    const b64 = base64Problem(task.commandContent);
    if (b64 !== undefined) {
      return { ok: false, param: 'CommandContentInvalid', value: b64 };
    }

    let user: TaskUser;
    try {
      user = await lookupUser(task.username);
    } catch (e) {
      const cause = e instanceof UserLookupError ? e.message : ensureError(e).message;
      return { ok: false, param: 'UsernameOrPasswordInvalid', value: `UserInvalid_${task.username}: ${cause}` };
    }

    if (task.workingDirectory !== '') {
      if (!(await isDirectory(task.workingDirectory))) {
        return { ok: false, param: 'workingDirectory', value: 'WorkingDirectoryNotExist: <nil>' };
      }
      return { ok: true, user, cwd: task.workingDirectory, type };
    }
    if (user.home !== '' && (await isDirectory(user.home))) {
      return { ok: true, user, cwd: user.home, type };
    }
    if (task.username !== '') {
      return { ok: false, param: 'workingDirectory', value: 'DefaultWorkingDirectoryNotAvailable: <nil>' };
    }
    // The agent's own user without a usable home: run from the filesystem root.
    this.#ctx.log.warn('task home directory missing', { home: user.home });
    return { ok: true, user, cwd: '/', type };
  }

  /**
   * §5.6 steps 2–4: decode, substitute parameters, write the script file once; returns the command
   * line that starts it, through the run-as port when the task runs as another user.
   */
  async #prepare(type: CommandType, user: TaskUser, cwd: string): Promise<Launch> {
    const { platform } = this.#ctx;
    const asOther = spawnIdentity(user).uid !== undefined;
    // Refused before the script is written: once the cause is fixed, a new delivery can still run.
    const refusal = asOther ? this.#ctx.runAs.refusal(user) : undefined;
    if (refusal !== undefined) {
      throw new PrepareError(...values(taskError('ExecuteScriptFailed', -7, refusal.code, refusal.refused, platform)));
    }
    const path = await this.#writeScript(type, user);
    this.#scriptPath = path;
    const sc = scriptCommand(type, type === 'RunShellScript' ? shellQuote(path) : path, platform);
    const target = { command: sc.command, args: sc.args };
    if (!asOther) {
      return target;
    }
    try {
      return this.#ctx.runAs.launch(target, user, cwd);
    } catch (e) {
      throw new PrepareError(
        ...values(taskError('ExecuteScriptFailed', -7, undefined, ensureError(e).message, platform)),
      );
    }
  }

  /**
   * Empties the script of a run whose content held parameter-store secrets. The file itself stays:
   * it is what refuses a second delivery of a one-shot task (ScriptFileExisted).
   */
  async #wipeScript(): Promise<void> {
    if (this.#scriptPath === undefined) {
      return;
    }
    try {
      const fh = await open(this.#scriptPath, fsConstants.O_WRONLY | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW);
      await fh.close();
    } catch (e) {
      this.#ctx.log.warn('secret script not emptied', { err: ensureError(e).message });
    }
  }

  /** Writes a periodic task's script again (it was emptied after the previous run). */
  async #rewriteScript(path: string, text: string): Promise<void> {
    try {
      const fh = await open(path, fsConstants.O_WRONLY | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW);
      try {
        await fh.writeFile(text, 'utf8');
      } finally {
        await fh.close();
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new PrepareError(
        ...values(taskError('SaveScriptFileFailed', -4, err.code, err.message, this.#ctx.platform)),
      );
    }
  }

  /** Writes the script file once (§5.6 step 4). Returns its path. */
  async #writeScript(type: CommandType, user: TaskUser): Promise<string> {
    const { paths, platform, instanceId } = this.#ctx;
    const task = this.#entry.task;
    let text = decodeBase64(task.commandContent).toString('utf8');
    if (task.enableParameter) {
      text = substituteParameters(
        text,
        builtInParameters(task.builtInParameter, instanceId, task.commandId, task.taskID),
      );
    }
    text = scriptPrelude(type, text);

    const ids = spawnIdentity(user);
    const asOther = ids.uid !== undefined;
    const dir = asOther ? userScriptDir(paths) : paths.scriptDir;
    try {
      await ensurePrivateDir(dir, asOther ? 0o711 : 0o700);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new PrepareError(...values(taskError('GetScriptPathFailed', -1, err.code, err.message, platform)));
    }
    const ext = scriptCommand(type, '', platform).extension;
    const path = join(dir, scriptFileName(task.commandName, task.taskID, task.invokeVersion, ext));

    let fh;
    try {
      // O_EXCL: never follows a planted symlink, and an existing file is how a re-delivered
      // one-shot task is refused (§5.4).
      fh = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o700);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST') {
        // EveryReboot and periodic tasks re-use their file without rewriting it; one-shot tasks are refused.
        if (this.#entry.repeat === 'EveryReboot' || PERIODIC_REPEATS.has(this.#entry.repeat)) {
          if (task.secretContent) {
            await this.#rewriteScript(path, text); // emptied after its last run (#wipeScript)
          }
          return path;
        }
        throw new PrepareError('-9', `ScriptFileExisted: ${path}`);
      }
      throw new PrepareError(...values(taskError('SaveScriptFileFailed', -4, err.code, err.message, platform)));
    }
    try {
      await fh.writeFile(text, 'utf8');
      // Another user gets the file as its own (0700): it must read and execute it, nobody else may.
      // (The alternative, root-owned 0750 with the user's group, would show the script to every
      // member of that group.) The directory stays root's, so the user cannot create or list files.
      if (ids.uid !== undefined && ids.gid !== undefined) {
        await fh.chown(ids.uid, ids.gid);
      }
      await fh.chmod(0o700);
      await fh.close();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      await fh.close().catch(() => {});
      // Leave no half-written file behind, or the next delivery would be refused as a duplicate.
      await unlink(path).catch(() => {});
      throw new PrepareError(...values(taskError('SaveScriptFileFailed', -4, err.code, err.message, platform)));
    }
    return path;
  }
}

const values = (e: { errCode: string; errDesc: string }): [string, string] => [e.errCode, e.errDesc];

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
