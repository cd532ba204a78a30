// The watchdog's decisions, pure: how long to wait before starting the agent again (crash-loop
// backoff), and when a run of samples means the agent must be restarted (budget and health strikes).
// Time comes in as numbers, so tests drive it without clocks or processes.
import { backoffDelay } from '../shared/index.js';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** An agent that stayed up this long is healthy again: the next delay starts over from initialMs. */
  resetAfterUpMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  initialMs: 1_000,
  maxMs: 60_000,
  factor: 2,
  resetAfterUpMs: 5 * 60_000,
});

/** Delays between restarts: initialMs, doubling up to maxMs; reset once an agent ran resetAfterUpMs. */
export class CrashBackoff {
  readonly #policy: BackoffPolicy;
  #attempt = 0;
  constructor(policy: BackoffPolicy) {
    this.#policy = policy;
  }
  /** The delay before the next start, given how long the agent that just ended was up. */
  next(upMs: number): number {
    if (upMs >= this.#policy.resetAfterUpMs) {
      this.#attempt = 0;
    }
    const delay = backoffDelay(this.#attempt, { ...this.#policy, jitter: false });
    this.#attempt++;
    return delay;
  }
  /** How many restarts in a row the current crash loop has had. */
  get attempt(): number {
    return this.#attempt;
  }
}

export interface Budget {
  /** Per-process CPU percent (100 = one core); a sample at or above it is over budget. */
  cpuPercent: number;
  /**
   * Proportional memory (PSS: what the agent owns, plus its share of pages it shares with the
   * watchdog and others); a sample at or above it is over budget. 0 = no PSS budget. Where the
   * kernel has no PSS figure, it applies to RSS instead.
   */
  pssBytes?: number;
  /** Resident memory (RSS, shared pages counted in full); a sample at or above it is over budget. 0 = none. */
  rssBytes: number;
  /** Consecutive over-budget (or stopped) samples that trigger a restart. */
  strikes: number;
  /** Samples taken before the agent has been up this long do not count against the budget. */
  warmupMs: number;
  /** An agent whose liveness file (when it writes one) is older than this is restarted. */
  livenessStaleMs: number;
}

export type RestartReason = 'exited' | 'start-failed' | 'memory' | 'cpu' | 'unresponsive';

export interface Observation {
  /** How long the agent has been up at this sample. */
  upMs: number;
  /** CPU percent since the previous sample; undefined for the first sample of a process. */
  cpuPercent: number | undefined;
  rssBytes: number;
  /** PSS; undefined where the kernel does not give it. */
  pssBytes?: number | undefined;
  /** The /proc state letter. */
  state: string;
  /** The agent has child processes (runs a script): its CPU then follows the script's output. */
  busy: boolean;
  /** Age of the agent's liveness file, when the file names this agent; otherwise undefined. */
  livenessAgeMs: number | undefined;
}

export interface Verdict {
  strikes: { cpu: number; memory: number; stopped: number };
  restart?: { reason: RestartReason; detail: string };
}

const MiB = 1024 * 1024;

/** Which memory budget a sample is over, as text (`pss 130.2 MiB >= 128.0 MiB`); undefined when none. */
function overMemory(o: Observation, b: Budget): string | undefined {
  const over = (what: string, value: number, limit: number) =>
    limit > 0 && value >= limit
      ? `${what} ${(value / MiB).toFixed(1)} MiB >= ${(limit / MiB).toFixed(1)} MiB`
      : undefined;
  const pssLimit = b.pssBytes ?? 0;
  return (
    (o.pssBytes !== undefined ? over('pss', o.pssBytes, pssLimit) : over('rss', o.rssBytes, pssLimit)) ??
    over('rss', o.rssBytes, b.rssBytes)
  );
}

const STOPPED_STATES = new Set(['T', 't']);

/**
 * Strike counting for one agent process (make a new one for each start). Memory and CPU have
 * their own counts; a sample under a budget resets that count. CPU samples while the agent runs a
 * script neither count nor reset (the stock perfmon pauses then too). A stopped process (SIGSTOP,
 * or held by a debugger) does not answer anything: it strikes like an over-budget sample.
 */
export class AgentMonitor {
  readonly #budget: Budget;
  #cpu = 0;
  #memory = 0;
  #stopped = 0;
  constructor(budget: Budget) {
    this.#budget = budget;
  }

  observe(o: Observation): Verdict {
    const b = this.#budget;
    this.#stopped = STOPPED_STATES.has(o.state) ? this.#stopped + 1 : 0;
    const counting = o.upMs >= b.warmupMs;
    this.#memory = counting && overMemory(o, b) !== undefined ? this.#memory + 1 : 0;
    if (!counting) {
      this.#cpu = 0;
    } else if (o.cpuPercent !== undefined && !o.busy) {
      this.#cpu = o.cpuPercent >= b.cpuPercent ? this.#cpu + 1 : 0;
    }
    const strikes = { cpu: this.#cpu, memory: this.#memory, stopped: this.#stopped };
    if (this.#stopped >= b.strikes) {
      return {
        strikes,
        restart: { reason: 'unresponsive', detail: `process stopped (state ${o.state}) for ${this.#stopped} samples` },
      };
    }
    if (o.livenessAgeMs !== undefined && o.livenessAgeMs > b.livenessStaleMs) {
      return {
        strikes,
        restart: {
          reason: 'unresponsive',
          detail: `liveness file not touched for ${Math.round(o.livenessAgeMs / 1000)} s`,
        },
      };
    }
    if (this.#memory >= b.strikes) {
      return {
        strikes,
        restart: {
          reason: 'memory',
          detail: `${overMemory(o, b) ?? 'memory'} for ${this.#memory} samples`,
        },
      };
    }
    if (this.#cpu >= b.strikes) {
      return {
        strikes,
        restart: {
          reason: 'cpu',
          detail: `cpu ${o.cpuPercent!.toFixed(1)} % >= ${b.cpuPercent} % for ${this.#cpu} samples`,
        },
      };
    }
    return { strikes };
  }
}
