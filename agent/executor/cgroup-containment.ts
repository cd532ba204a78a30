// Linux: each run in a cgroup v2 of its own ("cell"), so that Stop and Timeout reach every process
// the run started, including those that called setsid(2). A leaf module: Node built-ins only.
//
// Layout: <cgroup2 mount><agent's cgroup>/tasks/<label>.<agent pid>.<n> (at the hierarchy's root:
// /aliyun-assist-tasks/… rather than a generic /tasks). Under systemd the agent's cgroup is its
// unit's, which the unit delegates to it (Delegate=yes). No controller is enabled anywhere, so
// cgroup v2's "no internal processes" rule does not apply: the agent stays in its own cgroup, next
// to the tasks/ subtree.
//
// Getting the child into its cell without a race: a child is born in the cgroup of the thread that
// forks it, and Node's spawn forks synchronously on the calling thread. So the agent moves itself
// into the cell (one write to the cell's cgroup.procs), spawns, and moves itself back to where it
// was: the child is in the cell before it runs a single instruction of its own, and nothing it
// forks can be outside. (A wrapper `sh -c 'echo $$ > cgroup.procs; exec "$@"'` would do the same
// from the child's side, but the shell changes the environment: dash exports PWD, bash SHLVL and _.)
// Each move costs about 0.5 ms; JavaScript does not interleave anything between the three steps.
// Should the move back fail, the agent never kills or removes the cell it is in and makes no more
// cells (its tasks fall back to the process group).
//
// Kill: `cgroup.kill` (Linux ≥ 5.14) SIGKILLs every member at once; older kernels get the members of
// cgroup.procs SIGKILLed, frozen first where cgroup.freeze exists (≥ 5.2) so no fork slips through.
import { accessSync, constants, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainmentCell, ProcessContainment } from './containment.js';
import { processGroupOnly } from './containment.js';

/** Reports a degraded condition (the agent logs it as a warning). */
export type ContainmentWarn = (message: string, fields: Record<string, unknown>) => void;

/** The mount point of the cgroup v2 hierarchy in /proc/self/mountinfo text, or undefined. */
export function cgroup2MountPoint(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mountpoint options [optional fields…] - fstype source superoptions
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined || right.split(' ')[0] !== 'cgroup2') {
      continue;
    }
    const fields = left.split(' ');
    // A bind mount of a subtree (root other than /) would shift every path: not used.
    if (fields[3] === '/' && fields[4] !== undefined) {
      return unescapeMountField(fields[4]);
    }
  }
  return undefined;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescapeMountField = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** The cgroup v2 path of a process from its /proc/<pid>/cgroup text (`0::/path`), or undefined. */
export function unifiedCgroupPath(procCgroup: string): string | undefined {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  const path = line?.slice(3);
  // "(deleted)": the cgroup was removed under the process; nothing can be created below it.
  if (path === undefined || !path.startsWith('/') || path.endsWith(' (deleted)')) {
    return undefined;
  }
  return path;
}

/** Where the cells go, as a cgroup path: `<own>/tasks`, or `/aliyun-assist-tasks` at the root. */
export function defaultTasksCgroup(own: string): string {
  return own === '/' ? '/aliyun-assist-tasks' : `${own.replace(/\/+$/, '')}/tasks`;
}

/** `<label>.<pid>.<seq>`; the label is reduced to [A-Za-z0-9_-], at most 64 characters. */
export function cellName(label: string | undefined, pid: number, seq: number): string {
  const clean = (label ?? '').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return `${clean === '' ? 'run' : clean}.${pid}.${seq}`;
}

/** The agent pid in a cell's name, or undefined when the name is not a cell's. */
export function cellOwnerPid(name: string): number | undefined {
  const m = /^[A-Za-z0-9_-]+\.(\d+)\.\d+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function readPids(procsFile: string): number[] {
  return readFileSync(procsFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

const errCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) === 'EPERM';
  }
}

export interface CgroupContainmentOptions {
  /** The cgroup2 mount point (a directory). */
  mount: string;
  /** The directory that holds the cells, below `mount`; created when missing. */
  tasksDir: string;
  warn?: ContainmentWarn;
  /** Where this process's cgroup is read; default /proc/self/cgroup. */
  procSelfCgroup?: string;
  /** Tests: pretend cgroup.kill does not exist (kernels before 5.14). */
  useKillFile?: boolean;
}

// After a close, a cell that empties is removed within about a second and a half; one whose
// processes were not killed is left to later sweeps.
const CLOSE_RETRY_MS = [10, 20, 50, 100, 200, 400, 800];

export class CgroupContainment implements ProcessContainment {
  readonly kind = 'cgroup-v2';
  readonly mount: string;
  readonly tasksDir: string;
  readonly #warn: ContainmentWarn;
  readonly #procSelfCgroup: string;
  readonly #useKillFile: boolean;
  /** Closed cells not yet removed (processes the run left behind still live in them). */
  readonly #lingering = new Set<string>();
  #seq = 0;
  /** Set when the agent could not move itself back out of a cell: no more cells from then on. */
  #broken = false;

  constructor(o: CgroupContainmentOptions) {
    this.mount = o.mount;
    this.tasksDir = o.tasksDir;
    this.#warn = o.warn ?? (() => {});
    this.#procSelfCgroup = o.procSelfCgroup ?? '/proc/self/cgroup';
    this.#useKillFile = o.useKillFile ?? true;
  }

  /** The cgroup.procs file of the cgroup this process is in now. */
  homeProcsFile(): string {
    const own = unifiedCgroupPath(readFileSync(this.#procSelfCgroup, 'utf8'));
    if (own === undefined) {
      throw new Error(`no cgroup v2 path in ${this.#procSelfCgroup}`);
    }
    return join(this.mount, own, 'cgroup.procs');
  }

  /**
   * Checks that a cell can be made and entered and left: creates the tasks directory and a probe
   * cell, moves this process in and out again, removes the probe. Throws with the reason.
   */
  probe(): { killFile: boolean } {
    mkdirSync(this.tasksDir, { recursive: true, mode: 0o755 });
    const probe = this.#makeCell('probe');
    try {
      const home = this.homeProcsFile();
      writeFileSync(join(probe, 'cgroup.procs'), String(process.pid));
      this.#returnHome(home, probe);
      if (this.#broken) {
        throw new Error(`could not move back to ${home} from the probe cgroup`);
      }
      return { killFile: this.#useKillFile && exists(join(probe, 'cgroup.kill')) };
    } finally {
      if (!this.#broken) {
        tryRmdir(probe);
      }
    }
  }

  open(label?: string): ContainmentCell | undefined {
    if (this.#broken) {
      return undefined;
    }
    this.sweep();
    let dir: string;
    try {
      mkdirSync(this.tasksDir, { recursive: true, mode: 0o755 });
      dir = this.#makeCell(label);
    } catch (e) {
      this.#warn('task cgroup not created: the task is confined to its process group only', {
        cgroup: this.tasksDir,
        error: String(e),
      });
      return undefined;
    }
    return new CgroupCell(this, dir);
  }

  /** A new cell directory; a name taken (a cell left by an earlier agent with the same pid) is skipped. */
  #makeCell(label: string | undefined): string {
    for (let attempt = 0; ; attempt++) {
      const dir = join(this.tasksDir, cellName(label, process.pid, this.#seq++));
      try {
        mkdirSync(dir);
        return dir;
      } catch (e) {
        if (errCode(e) !== 'EEXIST' || attempt >= 100) {
          throw e;
        }
      }
    }
  }

  /** Also removes the empty cells of agents that are gone (see sweepStale). */
  sweep(): number {
    this.sweepStale();
    for (const dir of this.#lingering) {
      if (tryRmdir(dir)) {
        this.#lingering.delete(dir);
      }
    }
    return this.#lingering.size;
  }

  /**
   * Removes the empty cells of agents that are no longer running (an agent that crashed, or the
   * previous one after a restart). Cells still populated are left alone: they hold processes that
   * outlived their task, or a task the agent's restart handling deals with.
   */
  sweepStale(): void {
    let names: string[];
    try {
      names = readdirSync(this.tasksDir);
    } catch {
      return;
    }
    for (const name of names) {
      const owner = cellOwnerPid(name);
      if (owner !== undefined && owner !== process.pid && !isRunning(owner)) {
        tryRmdir(join(this.tasksDir, name));
      }
    }
  }

  /** @internal */ linger(dir: string): void {
    this.#lingering.add(dir);
  }

  /** @internal Tries to remove one lingering cell; true while it is still there. */
  retryLingering(dir: string): boolean {
    if (!this.#lingering.has(dir)) {
      return false;
    }
    if (tryRmdir(dir)) {
      this.#lingering.delete(dir);
      return false;
    }
    return true;
  }

  /** Moves this process back to `home`; on failure the containment is marked broken. */
  #returnHome(home: string, from: string): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(home, String(process.pid));
        return;
      } catch (e) {
        if (attempt === 1) {
          this.#broken = true;
          this.#warn('agent could not leave a task cgroup: task cgroups disabled from now on', {
            cgroup: from,
            home,
            error: String(e),
          });
        }
      }
    }
  }

  /** @internal */ enterAndSpawn<T extends { readonly pid?: number | undefined }>(dir: string, spawn: () => T): T {
    const procs = join(dir, 'cgroup.procs');
    let home: string | undefined;
    try {
      home = this.homeProcsFile();
      writeFileSync(procs, String(process.pid));
    } catch (e) {
      home = undefined;
      this.#warn('could not enter the task cgroup: the task is moved in after it started', {
        cgroup: dir,
        error: String(e),
      });
    }
    let child: T;
    try {
      child = spawn();
    } finally {
      if (home !== undefined) {
        this.#returnHome(home, dir);
      }
    }
    if (home === undefined && child.pid !== undefined) {
      // Second best: what the child forked before this write stays outside.
      try {
        writeFileSync(procs, String(child.pid));
      } catch {
        // it may have exited already
      }
    }
    return child;
  }

  /** @internal */ get broken(): boolean {
    return this.#broken;
  }

  /** @internal */ get useKillFile(): boolean {
    return this.#useKillFile;
  }
}

class CgroupCell implements ContainmentCell {
  readonly name: string;
  readonly #owner: CgroupContainment;
  readonly #dir: string;
  #closed = false;

  constructor(owner: CgroupContainment, dir: string) {
    this.#owner = owner;
    this.#dir = dir;
    this.name = dir;
  }

  spawnInside<T extends { readonly pid?: number | undefined }>(spawn: () => T): T {
    return this.#owner.enterAndSpawn(this.#dir, spawn);
  }

  /** The members, never this process (it is in a cell only while it spawns). */
  #members(): number[] {
    try {
      return readPids(join(this.#dir, 'cgroup.procs')).filter((p) => p !== process.pid);
    } catch {
      return [];
    }
  }

  signalAll(signal: NodeJS.Signals, exceptGroup?: number): void {
    for (const pid of this.#members()) {
      if (exceptGroup !== undefined && processGroupOf(pid) === exceptGroup) {
        continue; // signalled with its group already: a second TERM could run a trap twice
      }
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  }

  isEmpty(): boolean {
    try {
      // "populated 0": no live process in the cell (exited ones that nobody reaped do not count).
      return /^populated 0$/m.test(readFileSync(join(this.#dir, 'cgroup.events'), 'utf8'));
    } catch {
      return this.#members().length === 0;
    }
  }

  killAll(): void {
    // Never with the agent inside: only possible when it could not move back out (then broken).
    if (this.#owner.broken && this.#agentInside()) {
      return;
    }
    if (this.#owner.useKillFile) {
      try {
        writeFileSync(join(this.#dir, 'cgroup.kill'), '1');
        return;
      } catch {
        // before Linux 5.14: below
      }
    }
    const freeze = join(this.#dir, 'cgroup.freeze');
    const frozen = tryWrite(freeze, '1');
    try {
      const killed = new Set<number>();
      // Frozen, nothing can fork; unfrozen, a fork between the read and the kill shows up in the
      // next read. SIGKILL ends frozen processes too.
      for (let pass = 0; pass < 10; pass++) {
        const fresh = this.#members().filter((p) => !killed.has(p));
        if (fresh.length === 0) {
          break;
        }
        for (const pid of fresh) {
          killed.add(pid);
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // exited meanwhile
          }
        }
      }
    } finally {
      if (frozen) {
        tryWrite(freeze, '0');
      }
    }
  }

  #agentInside(): boolean {
    try {
      return readPids(join(this.#dir, 'cgroup.procs')).includes(process.pid);
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    if (this.#owner.broken && this.#agentInside()) {
      return;
    }
    if (tryRmdir(this.#dir)) {
      return;
    }
    // Killed processes take a moment to go: retry for a while. What a run left running keeps the
    // cell until it exits; every later open() and sweep() tries again.
    this.#owner.linger(this.#dir);
    let i = 0;
    const retry = (): void => {
      const delay = CLOSE_RETRY_MS[i++];
      if (delay !== undefined && this.#owner.retryLingering(this.#dir)) {
        setTimeout(retry, delay).unref();
      }
    };
    retry();
  }
}

function processGroupOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    return Number.isSafeInteger(pgrp) ? pgrp : undefined;
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    accessSync(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

function tryWrite(path: string, value: string): boolean {
  try {
    writeFileSync(path, value);
    return true;
  } catch {
    return false;
  }
}

/** rmdir; true when the directory is gone (removed now or already). EBUSY: still populated. */
function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return errCode(e) === 'ENOENT';
  }
}

export interface DetectContainmentOptions {
  platform?: NodeJS.Platform;
  /** The directory that holds the cells (inside the cgroup2 mount); default from the agent's cgroup. */
  tasksDir?: string;
  warn?: ContainmentWarn;
  /** Tests: see CgroupContainmentOptions.useKillFile. */
  useKillFile?: boolean;
  /** Defaults /proc/self/mountinfo and /proc/self/cgroup. */
  mountinfo?: string;
  procSelfCgroup?: string;
}

export type DetectedContainment =
  | { kind: 'cgroup-v2'; containment: CgroupContainment; tasksDir: string; killFile: boolean }
  | { kind: 'process-group'; containment: ProcessContainment; reason: string };

/**
 * The best containment this process can have: cgroup v2 cells when a cgroup2 hierarchy is mounted
 * and this process may create cgroups below its own and move processes (root, a writable mount,
 * a delegated subtree), else the process group only, with the reason. Cheap (a probe of a few
 * file operations); run once at start.
 */
export function detectContainment(o: DetectContainmentOptions = {}): DetectedContainment {
  const fallback = (reason: string): DetectedContainment => ({
    kind: 'process-group',
    containment: processGroupOnly,
    reason,
  });
  if ((o.platform ?? process.platform) !== 'linux') {
    return fallback('not Linux');
  }
  const procSelfCgroup = o.procSelfCgroup ?? '/proc/self/cgroup';
  let mount: string | undefined;
  let own: string | undefined;
  try {
    mount = cgroup2MountPoint(readFileSync(o.mountinfo ?? '/proc/self/mountinfo', 'utf8'));
    own = unifiedCgroupPath(readFileSync(procSelfCgroup, 'utf8'));
  } catch (e) {
    return fallback(`cannot read /proc: ${String(e)}`);
  }
  if (mount === undefined) {
    return fallback('no cgroup2 hierarchy is mounted (cgroup v1 only)');
  }
  if (own === undefined) {
    return fallback('the agent is in no cgroup v2 cgroup');
  }
  const tasksDir = o.tasksDir ?? join(mount, defaultTasksCgroup(own));
  const containment = new CgroupContainment({
    mount,
    tasksDir,
    procSelfCgroup,
    ...(o.warn ? { warn: o.warn } : {}),
    ...(o.useKillFile !== undefined ? { useKillFile: o.useKillFile } : {}),
  });
  try {
    const { killFile } = containment.probe();
    containment.sweepStale();
    return { kind: 'cgroup-v2', containment, tasksDir, killFile };
  } catch (e) {
    return fallback(`cannot create and enter cgroups in ${tasksDir}: ${String(e)}`);
  }
}
