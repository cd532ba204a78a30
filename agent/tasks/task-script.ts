// The script file of one task run and the command line that starts it (§5.6 steps 2–4): written
// once, re-used by repeating tasks, emptied after a run whose content held secrets.
import { constants as fsConstants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CommandType, RunTask } from '../../protocol/index.js';
import { scriptCommand, scriptPrelude, type Launch } from '../executor/index.js';
import { ensureError, type AgentPaths, type Logger } from '../shared/index.js';
import { ensurePrivateDir } from './durable-files.js';
import { spawnIdentity, type RunAsPort, type TaskUser } from './run-as-user.js';
import {
  builtInParameters,
  decodeBase64,
  scriptFileName,
  substituteParameters,
  taskError,
  truncateUtf8,
} from './task-input.js';

/** What a task's script needs of the run's context (TaskRunContext extends it). */
export interface ScriptContext {
  runAs: RunAsPort;
  paths: AgentPaths;
  platform: NodeJS.Platform;
  /** Already carries the taskId field. */
  log: Logger;
  /** Top-level `instanceId` of the fetch response (builtin parameter InstanceId). */
  instanceId: string;
}

/**
 * Where scripts of tasks that run as another user live: a root-owned 0711 sibling of the 0700
 * script dir. The user can reach its own file by name but cannot list or create anything there.
 */
export const userScriptDir = (paths: AgentPaths): string => join(dirname(paths.scriptDir), 'script-user');

/** A failure before the process starts: an `error` report with start=end=0 and an empty body. */
export class PrepareError extends Error {
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

const values = (e: { errCode: string; errDesc: string }): [string, string] => [e.errCode, e.errDesc];

export class TaskScript {
  readonly #ctx: ScriptContext;
  readonly #task: RunTask;
  /** EveryReboot and periodic tasks re-use their file without rewriting it; one-shot tasks are refused. */
  readonly #reuse: boolean;
  /** The script file of this run, once written. */
  #path: string | undefined;

  constructor(ctx: ScriptContext, task: RunTask, reuse: boolean) {
    this.#ctx = ctx;
    this.#task = task;
    this.#reuse = reuse;
  }

  /**
   * §5.6 steps 2–4: decode, substitute parameters, write the script file once; returns the command
   * line that starts it, through the run-as port when the task runs as another user.
   */
  async prepare(type: CommandType, user: TaskUser, cwd: string): Promise<Launch> {
    const { platform } = this.#ctx;
    const asOther = spawnIdentity(user).uid !== undefined;
    // Refused before the script is written: once the cause is fixed, a new delivery can still run.
    const refusal = asOther ? this.#ctx.runAs.refusal(user) : undefined;
    if (refusal !== undefined) {
      throw new PrepareError(...values(taskError('ExecuteScriptFailed', -7, refusal.code, refusal.refused, platform)));
    }
    const path = await this.#write(type, user);
    this.#path = path;
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
  async wipe(): Promise<void> {
    if (this.#path === undefined) {
      return;
    }
    try {
      const fh = await open(this.#path, fsConstants.O_WRONLY | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW);
      await fh.close();
    } catch (e) {
      this.#ctx.log.warn('secret script not emptied', { err: ensureError(e).message });
    }
  }

  /** Writes a periodic task's script again (it was emptied after the previous run). */
  async #rewrite(path: string, text: string): Promise<void> {
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
  async #write(type: CommandType, user: TaskUser): Promise<string> {
    const { paths, platform, instanceId } = this.#ctx;
    const task = this.#task;
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
        if (this.#reuse) {
          if (task.secretContent) {
            await this.#rewrite(path, text); // emptied after its last run (wipe)
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
