// The journal of running tasks: `<stateDir>/running/<task>.json`, written (durably) when a task's
// process is about to start, removed once its final report is in the outbox. An entry found when
// the agent starts means the agent died while the task ran: the task is reported as failed
// (InstanceRestarted) and whatever is left of its process group is killed, since nothing would
// enforce its timeout or collect its output any more.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureError, type Logger } from '../shared/index.js';
import { TMP_PREFIX, ensurePrivateDir, removeDurably, safeName, writeDurably } from './durable-files.js';

export interface JournalRecord {
  taskId: string;
  invokeVersion: number;
  /** ms epoch the run started (the process start once known). */
  start: number;
  /** The script's pid, which is also its process group id (POSIX). */
  pid?: number;
  /** Linux: the process start time in clock ticks after boot (/proc/<pid>/stat field 22), to tell a reused pid. */
  procStart?: number;
}

/** A record an earlier run left, with the file it came from. */
export interface LeftoverRecord extends JournalRecord {
  file: string;
}

export const journalFileName = (taskId: string): string =>
  `${safeName(taskId, 64)}-${createHash('sha256').update(taskId).digest('hex').slice(0, 12)}.json`;

/** errDesc of the error report for a task the agent lost by restarting; the control plane maps the prefix. */
export const INSTANCE_RESTARTED_DESC = 'InstanceRestarted: the agent restarted while the task was running';
export const INSTANCE_RESTARTED_CODE = '-13';

export class RunningJournal {
  readonly dir: string;
  readonly #log: Logger;
  /** Per-task operation chains: writes and the removal of one task never reorder. */
  readonly #chains = new Map<string, Promise<void>>();
  #ready: Promise<void> | undefined;

  constructor(dir: string, log: Logger) {
    this.dir = dir;
    this.#log = log;
  }

  /** Creates the directory (0700) if needed. */
  open(): Promise<void> {
    this.#ready ??= ensurePrivateDir(this.dir, 0o700);
    return this.#ready;
  }

  /** Records (or re-records) a running task. Never rejects: a failed write is logged. */
  write(r: JournalRecord): Promise<void> {
    return this.#chain(r.taskId, async () => {
      await this.open();
      await writeDurably(this.dir, journalFileName(r.taskId), JSON.stringify(r));
    });
  }

  /** The task's final report is safely queued: forget it. Never rejects. */
  remove(taskId: string): Promise<void> {
    return this.#chain(taskId, () => removeDurably(this.dir, journalFileName(taskId)));
  }

  /**
   * What an earlier run left: every readable record; the caller removes each with discard() once it
   * has dealt with it. Unreadable files are removed with an error log.
   */
  async leftovers(): Promise<LeftoverRecord[]> {
    await this.open();
    const out: LeftoverRecord[] = [];
    for (const name of (await readdir(this.dir)).sort()) {
      const path = join(this.dir, name);
      if (name.startsWith(TMP_PREFIX)) {
        await unlink(path).catch(() => {});
        continue;
      }
      if (!name.endsWith('.json')) {
        continue;
      }
      try {
        const r = JSON.parse(await readFile(path, 'utf8')) as Partial<JournalRecord>;
        if (typeof r.taskId !== 'string' || typeof r.start !== 'number' || typeof r.invokeVersion !== 'number') {
          throw new Error('not a journal record');
        }
        out.push({
          file: name,
          taskId: r.taskId,
          invokeVersion: r.invokeVersion,
          start: r.start,
          ...(typeof r.pid === 'number' ? { pid: r.pid } : {}),
          ...(typeof r.procStart === 'number' ? { procStart: r.procStart } : {}),
        });
      } catch (e) {
        this.#log.error('running journal entry unreadable', { file: name, err: ensureError(e) });
        await unlink(path).catch(() => {});
      }
    }
    return out;
  }

  /** Removes a leftover's file. */
  async discard(r: LeftoverRecord): Promise<void> {
    await removeDurably(this.dir, r.file);
  }

  #chain(taskId: string, op: () => Promise<void>): Promise<void> {
    const prev = this.#chains.get(taskId) ?? Promise.resolve();
    const next = prev.then(op).catch((e: unknown) => {
      this.#log.warn('running journal write failed', { taskId, err: ensureError(e) });
    });
    this.#chains.set(taskId, next);
    void next.finally(() => {
      if (this.#chains.get(taskId) === next) {
        this.#chains.delete(taskId);
      }
    });
    return next;
  }
}

interface ProcStat {
  state: string;
  pgrp: number;
  startTicks: number;
}

/** Linux /proc/<pid>/stat: state, process group, start time (ticks after boot). Undefined when gone. */
export function procStat(pid: number): ProcStat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // After the command: field 3 is state, 5 pgrp, 22 starttime (f[0] = field 3).
    return { state: f[0]!, pgrp: Number(f[2]), startTicks: Number(f[19]) };
  } catch {
    return undefined;
  }
}

/**
 * Kills what is left of a journalled task's process group (Linux only). The group is recognised by
 * its leader's pid and start time; when the leader is gone, members of that group started no
 * earlier than it are taken as its leftovers (a pid that is still a group id is not reused).
 * Returns the pids signalled.
 */
export function killLeftovers(r: JournalRecord, platform: NodeJS.Platform = process.platform): number[] {
  if (platform !== 'linux' || r.pid === undefined || r.procStart === undefined || r.pid <= 1) {
    return [];
  }
  const pgid = r.pid;
  const leader = procStat(pgid);
  if (leader !== undefined && leader.startTicks !== r.procStart) {
    return []; // the pid now belongs to another process: not ours
  }
  let members: number[];
  try {
    members = readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .filter((pid) => {
        const st = procStat(pid);
        return st !== undefined && st.pgrp === pgid && st.state !== 'Z' && st.startTicks >= r.procStart!;
      });
  } catch {
    return [];
  }
  if (members.length === 0) {
    return [];
  }
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    return [];
  }
  return members;
}
