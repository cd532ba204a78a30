// One run of a one-shot task: pre-checks, script file, process, running and final reports
// (spec/luban-protocol.md §5.5–5.7).
import { constants as fsConstants } from 'node:fs';
import { chmod, lstat, mkdir, open, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isCommandType, type CommandType, type Report, type RunTaskEntry } from '../../protocol/index.js';
import { runProcess, scriptCommand, scriptPrelude, type ExecOutcome } from '../executor/index.js';
import { ensureError, type AgentPaths, type Logger } from '../shared/index.js';
import { OutputAccounting, reportIntervalMs } from './output-accounting.js';
import { UserLookupError, lookupUser, spawnIdentity, taskEnv, type TaskUser } from './run-as-user.js';
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
  reporter: TaskReporter;
  paths: AgentPaths;
  platform: NodeJS.Platform;
  killGraceMs?: number;
  /** Already carries the taskId field. */
  log: Logger;
  /** Top-level `instanceId` of the fetch response (builtin parameter InstanceId). */
  instanceId: string;
}

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
  /** Set by cancel(): from then on this run reports nothing. */
  #silenced = false;
  #startedAt: number | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #done: Promise<void> | undefined;

  constructor(ctx: TaskRunContext, entry: RunTaskEntry) {
    this.#ctx = ctx;
    this.#entry = entry;
    this.taskId = entry.task.taskID;
    this.invokeVersion = entry.task.invokeVersion;
    this.#acct = new OutputAccounting({ logQuota: entry.output.logQuota, skipEmpty: entry.output.skipEmpty });
  }

  /** Starts the run once; the promise settles when it is over (reports sent or given up). Never rejects. */
  start(): Promise<void> {
    this.#done ??= this.#run().catch((e: unknown) => {
      this.#ctx.log.error('task run crashed', { err: ensureError(e) });
    });
    return this.#done;
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

    let command: { command: string; args: string[] };
    try {
      const path = await this.#writeScript(pre.type, pre.user);
      const sc = scriptCommand(pre.type, pre.type === 'RunShellScript' ? shellQuote(path) : path, this.#ctx.platform);
      command = { command: sc.command, args: sc.args };
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

    const running = runProcess(
      {
        ...command,
        cwd: pre.cwd,
        env: taskEnv(pre.user),
        ...spawnIdentity(pre.user),
        timeoutMs: timeoutMs(task.timeOut),
        ...(this.#ctx.killGraceMs !== undefined ? { killGraceMs: this.#ctx.killGraceMs } : {}),
      },
      (chunk) => this.#acct.push(chunk),
      this.#abort.signal,
      (pid, startedAt) => this.#onStarted(pid, startedAt),
    );
    const outcome = await running.outcome;
    clearInterval(this.#ticker);
    if (this.#silenced) {
      return;
    }
    // Running reports are fire-and-forget, but the final report must not overtake them.
    await Promise.all(this.#inFlight);
    if (this.#silenced) {
      return;
    }
    await this.#finish(outcome, pre.type);
    // The power-off / reboot side effect of exit codes 193/194 (§5.6 step 9) comes in a later issue.
  }

  #base(): { taskId: string; invokeVersion: number } {
    return { taskId: this.taskId, invokeVersion: this.invokeVersion };
  }

  #final(start: number, end: number, exitCode: number, dropped: number) {
    return { ...this.#base(), start, end, exitCode, dropped };
  }

  async #report(r: Report, body?: Buffer): Promise<void> {
    if (this.#silenced) {
      return;
    }
    await this.#ctx.reporter.send(r, body);
  }

  #sendRunning(body: Buffer): void {
    if (this.#silenced || this.#startedAt === undefined) {
      return;
    }
    const p = this.#ctx.reporter.running({ ...this.#base(), kind: 'running', start: this.#startedAt }, body);
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  #onStarted(pid: number, startedAt: number): void {
    this.#startedAt = startedAt;
    this.#ctx.log.info('task started', { pid });
    if (this.#silenced) {
      return;
    }
    this.#acct.started(Date.now());
    if (this.#entry.output.sendStart) {
      this.#sendRunning(Buffer.alloc(0));
    }
    this.#ticker = setInterval(() => {
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
      case 'exited':
        log.info('task finished', { exitCode: outcome.exitCode, signal: outcome.signal, dropped });
        return this.#report(
          { ...this.#final(outcome.startedAt, outcome.endedAt, outcome.exitCode, dropped), kind: 'finish' },
          body,
        );
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

  /** §5.6 steps 2–4: decode, substitute parameters, write the script file once. Returns its path. */
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
        // EveryReboot re-uses its file without rewriting it; one-shot tasks are refused.
        if (this.#entry.repeat === 'EveryReboot') {
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

/** Creates `dir` (and parents) if needed; it must be a real directory owned by us, with exactly `mode`. */
async function ensurePrivateDir(dir: string, mode: number): Promise<void> {
  // Parents get the default mode: they must stay traversable for the per-user script dir.
  await mkdir(dirname(dir), { recursive: true });
  await mkdir(dir, { mode }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') {
      throw e;
    }
  });
  const st = await lstat(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw Object.assign(new Error(`${dir} is not a directory owned by the agent`), { code: 'EPERM' });
  }
  if ((st.mode & 0o7777) !== mode) {
    await chmod(dir, mode);
  }
}
