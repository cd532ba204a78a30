// The port through which runProcess confines a run's whole process tree beyond its process group,
// and the fallback that confines nothing more. A leaf module: Node built-ins only.
//
// Why: a process group holds only the processes that stay in it. A script that calls setsid(2)
// (`setsid sleep 1 &`, `setsid -f`, a double-forking daemon) leaves its group and its session, and
// a group kill no longer reaches it. A Linux cgroup holds every descendant whatever it does to its
// session or group (only a root process writing another cgroup's cgroup.procs can leave it), and
// cgroup v2 can kill all of its members at once. Implementations:
//   - cgroup-containment.ts: Linux, cgroup v2 with write access (see detectContainment there);
//   - processGroupOnly (below): everything else.
// Windows would implement this port with a Job Object (CreateJobObject + AssignProcessToJobObject
// right after the spawn, TerminateJobObject to kill, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE for the
// agent's own death). Node cannot create job objects without a native addon, so it is not done:
// on Windows the tree kill stays taskkill /T (by parent pid).

export type ContainmentKind = 'cgroup-v2' | 'process-group';

/** Hands out one cell per run. Owned by the agent for its lifetime; consumed by runProcess. */
export interface ProcessContainment {
  readonly kind: ContainmentKind;
  /**
   * A fresh, empty cell for one run, or undefined when this containment cannot give one (the run
   * is then confined by its process group only). `label` (a task id) goes into the cell's name.
   */
  open(label?: string): ContainmentCell | undefined;
  /**
   * Removes cells of finished runs that have become empty since (and empty cells an earlier agent
   * left); returns how many of this containment's cells remain.
   */
  sweep(): number;
}

/** Where one run's processes live. Every method is best effort and never throws. */
export interface ContainmentCell {
  /** For logs: the cgroup path, for example. */
  readonly name: string;
  /**
   * Calls `spawn` (a synchronous child_process.spawn) such that the process it starts, and
   * everything that process ever starts, are in the cell from their first instruction on.
   */
  spawnInside<T extends { readonly pid?: number | undefined }>(spawn: () => T): T;
  /**
   * Sends `signal` to every process in the cell but those in process group `exceptGroup` (which
   * the caller signals as a group): the gentle first step of a stop.
   */
  signalAll(signal: NodeJS.Signals, exceptGroup?: number): void;
  /** True when no process (zombies aside) is left in the cell. */
  isEmpty(): boolean;
  /** SIGKILLs every process in the cell, including those that left the run's process group. */
  killAll(): void;
  /**
   * The run is over: the cell is removed once it is empty. Processes the run left running (a
   * run that ended by itself is not killed) keep it until they exit; a later sweep removes it then.
   */
  close(): void;
}

/** No confinement beyond the process group runProcess already gives every run. */
export const processGroupOnly: ProcessContainment = {
  kind: 'process-group',
  open: () => undefined,
  sweep: () => 0,
};
