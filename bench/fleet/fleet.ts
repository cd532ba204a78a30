// The parent's handle on the simulator: k worker processes (worker.ts), each given a contiguous
// slice of the fleet, started with a raised open-file limit; counters and per-task figures are
// asked for over IPC and added up here.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  addCounters,
  addTaskStats,
  emptyCounters,
  emptyTaskStats,
  type FleetMember,
  type FromWorker,
  type SimCounters,
  type TaskStats,
  type ToWorker,
} from './ipc.js';
import type { KeyPair } from './key-pool.js';
import { spawnLimited, type FileLimit } from './spawn-limited.js';

const ROOT = join(import.meta.dirname, '..', '..');
const WORKER = join(import.meta.dirname, 'worker.ts');
const ASK_TIMEOUT_MS = 30_000;

class Worker {
  readonly proc: ChildProcess;
  readonly #pending = new Map<number, (m: FromWorker) => void>();
  #nextId = 1;
  #started: Promise<void>;
  fatal: string | undefined;
  constructor(proc: ChildProcess) {
    this.proc = proc;
    let started!: () => void;
    let failed!: (e: Error) => void;
    this.#started = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    this.#started.catch(() => {}); // observed through `started`; a late failure must not go unhandled
    proc.on('message', (m: FromWorker) => {
      if (m.type === 'started') {
        started();
      } else if (m.type === 'fatal') {
        this.fatal = m.message;
        failed(new Error(`simulator worker ${proc.pid}: ${m.message}`));
      } else {
        this.#pending.get(m.id)?.(m);
        this.#pending.delete(m.id);
      }
    });
    proc.once('exit', (code, signal) => {
      this.fatal ??= `exited (${code ?? signal})`;
      failed(new Error(`simulator worker ${proc.pid} ${this.fatal}`));
      for (const resolve of this.#pending.values()) {
        resolve({ type: 'fatal', message: this.fatal });
      }
      this.#pending.clear();
    });
  }

  get started(): Promise<void> {
    return this.#started;
  }

  post(m: ToWorker): void {
    if (this.proc.connected) {
      this.proc.send(m);
    }
  }

  /** Sends a question (with a fresh id) and waits for its answer. */
  ask(make: (id: number) => ToWorker): Promise<FromWorker> {
    const id = this.#nextId++;
    return new Promise<FromWorker>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`simulator worker ${this.proc.pid} did not answer in ${ASK_TIMEOUT_MS} ms`));
      }, ASK_TIMEOUT_MS);
      this.#pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.post(make(id));
    });
  }
}

export class Fleet {
  readonly #workers: Worker[];
  private constructor(workers: Worker[]) {
    this.#workers = workers;
  }

  /** Spawns the workers and hands each its slice; resolves once every worker has started its agents. */
  static async start(o: {
    workers: number;
    members: FleetMember[];
    keys: KeyPair[];
    hostPort: string;
    caPem: string;
    connectConcurrency: number;
    httpSockets: number;
    limit: FileLimit;
    /** Flags for the workers' node (a CPU profile, say). */
    nodeFlags: string[];
  }): Promise<Fleet> {
    const k = Math.max(1, Math.min(o.workers, o.members.length));
    const per = Math.ceil(o.members.length / k);
    const workers: Worker[] = [];
    for (let w = 0; w < k; w++) {
      const proc = spawnLimited(o.limit, process.execPath, [...o.nodeFlags, '--import', 'tsx', WORKER], {
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      workers.push(new Worker(proc));
    }
    const fleet = new Fleet(workers);
    workers.forEach((worker, w) => {
      const members = o.members.slice(w * per, (w + 1) * per);
      const keys: Record<number, string> = {};
      for (const m of members) {
        keys[m.keyIndex] ??= o.keys[m.keyIndex]!.privateKeyPem;
      }
      worker.post({
        type: 'start',
        config: {
          hostPort: o.hostPort,
          caPem: o.caPem,
          members,
          keys,
          connectConcurrency: o.connectConcurrency,
          httpSockets: o.httpSockets,
        },
      });
    });
    try {
      await Promise.all(workers.map((w) => w.started));
    } catch (e) {
      fleet.kill();
      throw e;
    }
    return fleet;
  }

  get pids(): number[] {
    return this.#workers.map((w) => w.proc.pid!).filter((p) => p !== undefined);
  }

  /** A worker that died is an error of the benchmark, not a figure: say which. */
  #check(): void {
    const dead = this.#workers.find((w) => w.fatal !== undefined);
    if (dead) {
      throw new Error(`simulator worker ${dead.proc.pid}: ${dead.fatal}`);
    }
  }

  async counters(): Promise<SimCounters> {
    this.#check();
    const answers = await Promise.all(this.#workers.map((w) => w.ask((id) => ({ type: 'counters', id }))));
    this.#check();
    return answers.reduce((sum, m) => (m.type === 'counters' ? addCounters(sum, m.counters) : sum), emptyCounters());
  }

  async taskStats(taskId: string): Promise<TaskStats> {
    this.#check();
    const answers = await Promise.all(this.#workers.map((w) => w.ask((id) => ({ type: 'task', id, taskId }))));
    return answers.reduce((sum, m) => (m.type === 'task' ? addTaskStats(sum, m.stats) : sum), emptyTaskStats());
  }

  /** Asks every worker to drop its agents and exit; SIGKILL for any still there after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    await Promise.all(
      this.#workers.map(async (w) => {
        if (w.proc.exitCode !== null || w.proc.signalCode !== null) {
          return;
        }
        const exited = new Promise((r) => w.proc.once('exit', r));
        w.post({ type: 'stop' });
        const timer = setTimeout(() => w.proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** For exit paths that cannot wait. */
  kill(): void {
    for (const w of this.#workers) {
      if (w.proc.exitCode === null && w.proc.signalCode === null) {
        w.proc.kill('SIGKILL');
      }
    }
  }
}
