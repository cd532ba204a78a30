// A session's PTY: the login shell or the command, as the session's user, in a containment cell of
// its own; ending the session ends the whole process tree.
import type { SessionTask } from '../../protocol/index.js';
import { killTree, type ContainmentCell, type ProcessContainment } from '../executor/index.js';
import { ensureError } from '../shared/index.js';
import { SessionStartError, type BackendContext, type SessionBackend } from './backend.js';
import { signalSession } from './process-tree.js';
import { DEFAULT_PTY_SIZE, type PtyPort, type PtyProcess } from './pty-port.js';
import { sessionCommand, type SessionCommandContext } from './session-command.js';
import { resolveSessionUser, type SessionUserOptions } from './session-user.js';

export interface ShellBackendDeps {
  pty: PtyPort;
  containment: ProcessContainment;
  user: SessionUserOptions;
  command: SessionCommandContext;
  /** Between the hangup and the kill of what is left (default 1 s). */
  killGraceMs?: number;
}

const DEFAULT_KILL_GRACE_MS = 1_000;

export async function startShell(
  deps: ShellBackendDeps,
  task: SessionTask,
  ctx: BackendContext,
): Promise<SessionBackend> {
  let spec;
  try {
    const user = await resolveSessionUser(task.username, deps.user);
    const cmd = sessionCommand(task, user, deps.command);
    spec = { ...cmd, ...(ctx.size ?? DEFAULT_PTY_SIZE) };
    ctx.log.info('session pty starting', { user: user.name, uid: user.uid, file: cmd.file });
  } catch (e) {
    throw new SessionStartError('Open_pty_failed', ensureError(e).message, { cause: e });
  }
  const cell = deps.containment.open(`session-${task.channelId}`);
  let pty: PtyProcess;
  try {
    pty = cell ? cell.spawnInside(() => deps.pty.spawn(spec)) : deps.pty.spawn(spec);
  } catch (e) {
    cell?.close();
    throw new SessionStartError('Open_pty_failed', `pty: ${ensureError(e).message}`, { cause: e });
  }
  return new ShellBackend(pty, cell, ctx, deps.killGraceMs ?? DEFAULT_KILL_GRACE_MS, deps.command.platform);
}

class ShellBackend implements SessionBackend {
  readonly #pty: PtyProcess;
  readonly #cell: ContainmentCell | undefined;
  readonly #graceMs: number;
  readonly #platform: NodeJS.Platform;
  readonly #exited: Promise<void>;
  #hasExited = false;
  #closing: Promise<void> | undefined;

  constructor(
    pty: PtyProcess,
    cell: ContainmentCell | undefined,
    ctx: BackendContext,
    graceMs: number,
    platform: NodeJS.Platform,
  ) {
    this.#pty = pty;
    this.#cell = cell;
    this.#graceMs = graceMs;
    this.#platform = platform;
    pty.onData(ctx.onData);
    this.#exited = new Promise((resolve) =>
      pty.onExit((e) => {
        this.#hasExited = true;
        resolve();
        ctx.onEnd('Ok', `exit ${e.exitCode}${e.signal ? ` signal ${e.signal}` : ''}`);
      }),
    );
  }

  write(data: Buffer): boolean {
    this.#pty.write(data);
    return true; // node-pty queues writes itself
  }

  onDrain(listener: () => void): void {
    listener();
  }

  resize(size: { cols: number; rows: number }): void {
    if (!this.#hasExited) {
      try {
        this.#pty.resize(size.cols, size.rows);
      } catch {
        // the terminal closed meanwhile
      }
    }
  }

  pause(): void {
    this.#pty.pause();
  }

  resume(): void {
    this.#pty.resume();
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeTree();
    return this.#closing;
  }

  /** Hang up (as a closed terminal does), then after the grace kill whatever is left. */
  async #closeTree(): Promise<void> {
    const pid = this.#pty.pid;
    const posix = this.#platform !== 'win32';
    if (!this.#hasExited) {
      if (posix) {
        signalSession(pid, 'SIGHUP');
        this.#safe(() => process.kill(-pid, 'SIGHUP')); // its process group
        this.#cell?.signalAll('SIGHUP', pid);
        this.#safe(() => this.#pty.kill('SIGHUP'));
      } else {
        this.#safe(() => this.#pty.kill());
      }
      await Promise.race([this.#exited, new Promise((r) => setTimeout(r, this.#graceMs))]);
    }
    if (posix) {
      signalSession(pid, 'SIGKILL');
      this.#safe(() => killTree(pid, 'SIGKILL'));
    } else {
      this.#safe(() => killTree(pid, 'SIGKILL'));
    }
    this.#cell?.killAll();
    this.#cell?.close();
  }

  #safe(fn: () => unknown): void {
    try {
      fn();
    } catch {
      // already gone
    }
  }
}
