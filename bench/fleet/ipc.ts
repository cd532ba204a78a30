// Messages between the benchmark (parent) and its simulator workers (child processes, IPC channel).

/** One registered simulated instance. `keyIndex` picks its key pair from the shared pool. */
export interface FleetMember {
  instanceId: string;
  machineId: string;
  keyIndex: number;
  /** Its registered intranet address, sent as X-Client-IP like the stock agent. */
  ip: string;
}

export interface WorkerConfig {
  hostPort: string;
  caPem: string;
  members: FleetMember[];
  /** Private keys (PKCS#1 PEM) by pool index, only those the members use. */
  keys: Record<number, string>;
  /** Notify dials in flight at once in this worker. */
  connectConcurrency: number;
  /** Sockets of the worker's shared HTTPS keep-alive pool. */
  httpSockets: number;
}

/** Fleet-wide counters; a worker sends its own, the parent adds them up. */
export interface SimCounters {
  agents: number;
  /** When the first agent began its startup (the connect clock starts here, not at process start). */
  firstStartAt: number;
  /** Notify sockets open now; agents that were ever connected; when the last first connection opened. */
  wsOpen: number;
  everConnected: number;
  lastFirstOpenAt: number;
  wsDials: number;
  wsDialFailures: number;
  wsDialsRefused: number;
  wsCloses: number;
  /** Agents through startup (first heartbeat and the startup fetch), and when the last one was. */
  ready: number;
  lastReadyAt: number;
  heartbeats: number;
  heartbeatFailures: number;
  /** The interval the server's last heartbeat answer gave (after the stock clamp). */
  heartbeatIntervalMs: number;
  kicks: number;
  kicksUnknown: number;
  /** A `kick_vm task|file … <id>` an agent had already received. */
  kicksDuplicate: number;
  kicksAbsorbed: number;
  fetches: number;
  fetchesEmpty: number;
  fetchFailures: number;
  deliveries: number;
  /** A task delivered again to an agent that already had it. */
  deliveriesDuplicate: number;
  reports: Record<string, number>;
  reportFailures: number;
  /** HTTPS connections the worker's pool opened (each a TLS handshake on the server). */
  httpConnections: number;
  /** Failed calls by `<endpoint> <status or error code>`. */
  errors: Record<string, number>;
}

/** What the agents of a worker saw of one task (invocation). */
export interface TaskStats {
  /** Agents that heard of it at all (a kick or a delivery). */
  agents: number;
  kicks: number;
  kicksDuplicate: number;
  fetches: number;
  deliveries: number;
  deliveriesDuplicate: number;
  /** Agents whose `finish` report was sent and answered exactly once / more than once / not at all. */
  finishedOnce: number;
  finishedMore: number;
  notFinished: number;
  firstKickAt: number;
  lastFinishAt: number;
}

export type ToWorker =
  | { type: 'start'; config: WorkerConfig }
  | { type: 'counters'; id: number }
  | { type: 'task'; id: number; taskId: string }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'started' }
  | { type: 'counters'; id: number; counters: SimCounters }
  | { type: 'task'; id: number; stats: TaskStats }
  | { type: 'fatal'; message: string };

export function emptyCounters(): SimCounters {
  return {
    agents: 0,
    firstStartAt: 0,
    wsOpen: 0,
    everConnected: 0,
    lastFirstOpenAt: 0,
    wsDials: 0,
    wsDialFailures: 0,
    wsDialsRefused: 0,
    wsCloses: 0,
    ready: 0,
    lastReadyAt: 0,
    heartbeats: 0,
    heartbeatFailures: 0,
    heartbeatIntervalMs: 0,
    kicks: 0,
    kicksUnknown: 0,
    kicksDuplicate: 0,
    kicksAbsorbed: 0,
    fetches: 0,
    fetchesEmpty: 0,
    fetchFailures: 0,
    deliveries: 0,
    deliveriesDuplicate: 0,
    reports: {},
    reportFailures: 0,
    httpConnections: 0,
    errors: {},
  };
}

export function emptyTaskStats(): TaskStats {
  return {
    agents: 0,
    kicks: 0,
    kicksDuplicate: 0,
    fetches: 0,
    deliveries: 0,
    deliveriesDuplicate: 0,
    finishedOnce: 0,
    finishedMore: 0,
    notFinished: 0,
    firstKickAt: 0,
    lastFinishAt: 0,
  };
}

const addMap = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = (out[k] ?? 0) + v;
  }
  return out;
};

/** Sums counters; `last…At` and the heartbeat interval take the maximum, `first…At` the earliest. */
export function addCounters(a: SimCounters, b: SimCounters): SimCounters {
  const out = { ...a };
  for (const k of Object.keys(b) as (keyof SimCounters)[]) {
    const av = a[k];
    const bv = b[k];
    if (typeof av === 'number' && typeof bv === 'number') {
      (out[k] as number) = k.startsWith('last') || k === 'heartbeatIntervalMs' ? Math.max(av, bv) : av + bv;
      if (k.startsWith('first')) {
        (out[k] as number) = av > 0 && bv > 0 ? Math.min(av, bv) : Math.max(av, bv);
      }
    }
  }
  out.reports = addMap(a.reports, b.reports);
  out.errors = addMap(a.errors, b.errors);
  return out;
}

/** Sums task stats; `firstKickAt` takes the earliest non-zero, `lastFinishAt` the latest. */
export function addTaskStats(a: TaskStats, b: TaskStats): TaskStats {
  const out = { ...a };
  for (const k of Object.keys(b) as (keyof TaskStats)[]) {
    out[k] = a[k] + b[k];
  }
  out.firstKickAt = [a.firstKickAt, b.firstKickAt].filter((t) => t > 0).reduce((m, t) => Math.min(m, t), Infinity);
  if (!Number.isFinite(out.firstKickAt)) {
    out.firstKickAt = 0;
  }
  out.lastFinishAt = Math.max(a.lastFinishAt, b.lastFinishAt);
  return out;
}
