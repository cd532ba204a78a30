// The figures of one fleet size, summarised, and the printed forms: one JSON line per size, a
// table with one column per size ("server" figures are all nodes together), and per size a table
// with one column per party (each node, the nodes' total, PostgreSQL, nginx, the simulator, this
// benchmark, other work on the machine) showing where the cores went.
import { cpus } from 'node:os';
import { MACHINE, OTHER, type CpuSample } from './cpu-probe.js';
import type { FanOutResult } from './fan-out-run.js';
import type { SimCounters } from './ipc.js';
import { median, quantile } from './metrics.js';
import type { Holdings } from './store-setup.js';

export interface SizeResult {
  n: number;
  workers: number;
  /** The control-plane nodes' names ("node A", …), the parties whose CPU is "server" CPU. */
  nodes: string[];
  /** Agents whose notify socket opened within the connect timeout. */
  connected: number;
  connectMs: number;
  readyMs: number;
  connectServerCpuS: number;
  connectSimCpuS: number;
  connectCpu: CpuSample;
  idle: {
    windowS: number;
    heartbeats: number;
    /** All nodes. */
    serverCpuS: number;
    simCpuS: number;
    /** All nodes. */
    rssMiB: number;
    cpu: CpuSample;
    rssByNode: Record<string, number>;
  };
  /** Agents per node (live `agent_presence` rows) at the end of the idle window, and after the fan-outs. */
  held: Holdings;
  heldAfterFanOuts: Holdings;
  /** Peak of all nodes' RSS together, and each node's own peak. */
  rssPeakMiB: number;
  rssPeakByNode: Record<string, number>;
  fanOuts: FanOutResult[];
  /** One DescribeInvocations of a finished N-instance invocation, measured alone. */
  pollCost: { serverCpuMs: number; postgresCpuMs: number; ms: number };
  counters: SimCounters;
  loadAverage: number[];
}

export interface SizeSummary {
  n: number;
  nodes: number;
  connected: number;
  connectS: number;
  readyS: number;
  serverCpuPerConnectMs: number;
  connectServerCpuS: number;
  connectSimCpuS: number;
  idleRssMiB: number;
  idleCpuPct: number;
  idleWindowS: number;
  heartbeats: number;
  serverCpuPerHeartbeatMs: number;
  simIdleCpuPct: number;
  finishedS: { median: number; min: number; max: number };
  lastReportS: number;
  runCommandMs: number;
  callsPerFanOut: number;
  timedOut: number;
  notSuccessApi: number;
  simConnections: number[];
  simFetchErrors: number[];
  simErrorsInFanOuts: Record<string, number>;
  byStatus: Record<string, number>;
  errorCodes: Record<string, number>;
  badOutput: number;
  simFinishedOnce: number;
  simFinishedMore: number;
  simNotFinished: number;
  kicksDuplicate: number;
  deliveriesDuplicate: number;
  emptyKickFetches: number;
  /** Task-targeted fetches per agent and task (1.00 when no fetch was repeated). */
  fetchesPerTask: number;
  pollP50Ms: number;
  pollP99Ms: number;
  polls: number;
  serverCpuPerTaskMs: number;
  pollServerCpuMs: number;
  pollPostgresCpuMs: number;
  pollAloneMs: number;
  serverCpuPerTaskExclPollingMs: number;
  serverFanOutCpuS: number;
  simFanOutCpuS: number;
  rssPeakMiB: number;
  errors: Record<string, number>;
  loadAverage: number[];
  parties: PartySummary[];
}

/** One party's figures at one size; NaN (printed "–") where a figure does not apply to it. */
export interface PartySummary {
  name: string;
  /** Live presence rows at the end of the idle window, and after the fan-outs (nodes only). */
  agentsHeld: number;
  agentsHeldAfter: number;
  idleRssMiB: number;
  peakRssMiB: number;
  idleCpuPct: number;
  fanOutCpuS: number;
  /** Its CPU during a fan-out as a share of all the machine's cores over the fan-out's wall time. */
  fanOutMachinePct: number;
  cpuPerTaskMs: number;
}

const sumMaps = (maps: Record<string, number>[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const m of maps) {
    for (const [k, v] of Object.entries(m)) {
      out[k] = (out[k] ?? 0) + v;
    }
  }
  return out;
};

export function summarise(r: SizeResult): SizeSummary {
  const f = r.fanOuts;
  const finished = f.map((x) => x.finishedMs / 1000);
  const byStatus = sumMaps(f.map((x) => x.byStatus));
  const polls = f.flatMap((x) => x.pollMs);
  return {
    n: r.n,
    nodes: r.nodes.length,
    connected: r.connected,
    connectS: r.connectMs / 1000,
    readyS: r.readyMs / 1000,
    serverCpuPerConnectMs: (r.connectServerCpuS * 1000) / Math.max(1, r.connected),
    connectServerCpuS: r.connectServerCpuS,
    connectSimCpuS: r.connectSimCpuS,
    idleRssMiB: r.idle.rssMiB,
    idleCpuPct: (100 * r.idle.serverCpuS) / r.idle.windowS,
    idleWindowS: r.idle.windowS,
    heartbeats: r.idle.heartbeats,
    serverCpuPerHeartbeatMs: r.idle.heartbeats > 0 ? (r.idle.serverCpuS * 1000) / r.idle.heartbeats : Number.NaN,
    simIdleCpuPct: (100 * r.idle.simCpuS) / r.idle.windowS,
    finishedS: { median: median(finished), min: Math.min(...finished), max: Math.max(...finished) },
    lastReportS: median(f.map((x) => x.lastReportMs / 1000)),
    runCommandMs: median(f.flatMap((x) => x.runCommandMs)),
    callsPerFanOut: Math.max(...f.map((x) => x.calls)),
    timedOut: f.filter((x) => x.timedOut).length,
    simConnections: f.map((x) => x.simConnections),
    simFetchErrors: f.map((x) => x.simFetchErrors),
    simErrorsInFanOuts: sumMaps(f.map((x) => x.simErrors)),
    notSuccessApi: f.reduce((s, x) => s + (x.n - (x.byStatus['Success'] ?? 0)), 0),
    byStatus,
    errorCodes: sumMaps(f.map((x) => x.errorCodes)),
    badOutput: f.reduce((s, x) => s + x.badOutput, 0),
    simFinishedOnce: f.reduce((s, x) => s + x.sim.finishedOnce, 0),
    simFinishedMore: f.reduce((s, x) => s + x.sim.finishedMore, 0),
    simNotFinished: f.reduce((s, x) => s + (x.n - x.sim.finishedOnce - x.sim.finishedMore), 0),
    kicksDuplicate: f.reduce((s, x) => s + x.sim.kicksDuplicate, 0),
    deliveriesDuplicate: f.reduce((s, x) => s + x.sim.deliveriesDuplicate, 0),
    emptyKickFetches: r.counters.fetchesEmpty,
    fetchesPerTask:
      f.reduce((s, x) => s + x.sim.fetches, 0) /
      Math.max(
        1,
        f.reduce((s, x) => s + x.sim.agents, 0),
      ),
    pollP50Ms: quantile(polls, 0.5),
    pollP99Ms: quantile(polls, 0.99),
    polls: polls.length,
    serverCpuPerTaskMs: median(f.map((x) => (x.serverCpuS * 1000) / x.n)),
    pollServerCpuMs: r.pollCost.serverCpuMs,
    pollPostgresCpuMs: r.pollCost.postgresCpuMs,
    pollAloneMs: r.pollCost.ms,
    serverCpuPerTaskExclPollingMs: median(
      f.map((x) => (x.serverCpuS * 1000 - x.pollMs.length * r.pollCost.serverCpuMs) / x.n),
    ),
    serverFanOutCpuS: median(f.map((x) => x.serverCpuS)),
    simFanOutCpuS: median(f.map((x) => x.simCpuS)),
    rssPeakMiB: r.rssPeakMiB,
    errors: r.counters.errors,
    loadAverage: r.loadAverage,
    parties: parties(r),
  };
}

export const NODES_TOTAL = 'nodes total';

function parties(r: SizeResult): PartySummary[] {
  const cores = cpus().length;
  const f = r.fanOuts;
  const node = new Set(r.nodes);
  const cpuOf = (s: CpuSample, name: string) =>
    name === NODES_TOTAL ? r.nodes.reduce((t, k) => t + (s[k] ?? 0), 0) : (s[name] ?? Number.NaN);
  const names = [
    ...r.nodes,
    ...(r.nodes.length > 1 ? [NODES_TOTAL] : []),
    ...Object.keys(r.idle.cpu).filter((k) => !node.has(k) && k !== MACHINE && k !== OTHER),
    OTHER,
    MACHINE,
  ];
  const heldBy = (h: Holdings, name: string) =>
    node.has(name) ? (h[name] ?? 0) : name === NODES_TOTAL ? r.nodes.reduce((t, k) => t + (h[k] ?? 0), 0) : Number.NaN;
  return names.map((name) => ({
    name,
    agentsHeld: heldBy(r.held, name),
    agentsHeldAfter: heldBy(r.heldAfterFanOuts, name),
    idleRssMiB: node.has(name)
      ? (r.idle.rssByNode[name] ?? Number.NaN)
      : name === NODES_TOTAL
        ? r.idle.rssMiB
        : Number.NaN,
    peakRssMiB: node.has(name)
      ? (r.rssPeakByNode[name] ?? Number.NaN)
      : name === NODES_TOTAL
        ? r.rssPeakMiB
        : Number.NaN,
    idleCpuPct: (100 * cpuOf(r.idle.cpu, name)) / r.idle.windowS,
    fanOutCpuS: median(f.map((x) => cpuOf(x.cpu, name))),
    fanOutMachinePct: median(f.map((x) => (100 * cpuOf(x.cpu, name)) / ((x.finishedMs / 1000) * cores))),
    cpuPerTaskMs: median(f.map((x) => (cpuOf(x.cpu, name) * 1000) / x.n)),
  }));
}

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const kv = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '–';

export function table(summaries: SizeSummary[], runs: number): string {
  const rows: [string, (s: SizeSummary) => string][] = [
    ['agents connected / simulated', (s) => `${s.connected} / ${s.n}`],
    ['connect all notify sockets (s)', (s) => fmt(s.connectS, 2)],
    ['… and all through startup: heartbeat + startup fetch (s)', (s) => fmt(s.readyS, 2)],
    ['server CPU per agent connect + startup (ms)', (s) => fmt(s.serverCpuPerConnectMs, 2)],
    [
      'server / simulator CPU for the whole connect phase (s)',
      (s) => `${fmt(s.connectServerCpuS, 2)} / ${fmt(s.connectSimCpuS, 2)}`,
    ],
    ['server RSS, idle with N agents (MiB)', (s) => fmt(s.idleRssMiB)],
    ['server idle CPU (% of one core) / window (s)', (s) => `${fmt(s.idleCpuPct, 2)} / ${fmt(s.idleWindowS, 0)}`],
    ['heartbeats in the window', (s) => String(s.heartbeats)],
    ['server CPU per heartbeat (ms, all idle CPU / heartbeats)', (s) => fmt(s.serverCpuPerHeartbeatMs, 2)],
    [
      `RunCommand → Finished, median of ${runs} (s) [min–max]`,
      (s) => `${fmt(s.finishedS.median, 2)} [${fmt(s.finishedS.min, 2)}–${fmt(s.finishedS.max, 2)}]`,
    ],
    ['RunCommand → last finish report answered, median (s)', (s) => fmt(s.lastReportS, 2)],
    ['RunCommand call itself, median (ms) / calls per fan-out', (s) => `${fmt(s.runCommandMs)} / ${s.callsPerFanOut}`],
    ['fan-outs not final within the limit', (s) => String(s.timedOut)],
    [
      `executions not Success, all ${runs} runs (API)`,
      (s) => `${s.notSuccessApi}${s.notSuccessApi > 0 ? ` (${kv(s.byStatus)}; ${kv(s.errorCodes)})` : ''}`,
    ],
    ['executions with wrong Output (API)', (s) => String(s.badOutput)],
    [
      'finish reported once / more than once / never (simulator)',
      (s) => `${s.simFinishedOnce} / ${s.simFinishedMore} / ${s.simNotFinished}`,
    ],
    [
      'duplicate kicks / duplicate deliveries / empty kick fetches',
      (s) => `${s.kicksDuplicate} / ${s.deliveriesDuplicate} / ${s.emptyKickFetches}`,
    ],
    [
      'simulator HTTPS connections opened / failed fetch attempts, per fan-out',
      (s) => `${s.simConnections.join(', ')} / ${s.simFetchErrors.join(', ')}`,
    ],
    ['targeted fetches per agent and task (1.00: none repeated)', (s) => fmt(s.fetchesPerTask, 2)],
    [
      'DescribeInvocations while polling, p50 / p99 (ms) [calls]',
      (s) => `${fmt(s.pollP50Ms)} / ${fmt(s.pollP99Ms)} [${s.polls}]`,
    ],
    ['server CPU per executed task, median (ms)', (s) => fmt(s.serverCpuPerTaskMs, 3)],
    [
      'one DescribeInvocations alone: server CPU / postgres CPU / latency (ms)',
      (s) => `${fmt(s.pollServerCpuMs)} / ${fmt(s.pollPostgresCpuMs)} / ${fmt(s.pollAloneMs)}`,
    ],
    ['server CPU per executed task without the polling, median (ms)', (s) => fmt(s.serverCpuPerTaskExclPollingMs, 3)],
    [
      'server CPU / simulator CPU during a fan-out, median (s)',
      (s) => `${fmt(s.serverFanOutCpuS, 2)} / ${fmt(s.simFanOutCpuS, 2)}`,
    ],
    ['simulator idle CPU (% of one core, all workers)', (s) => fmt(s.simIdleCpuPct, 2)],
    ['server peak RSS (MiB)', (s) => fmt(s.rssPeakMiB)],
    ['simulator errors, all phases', (s) => kv(s.errors)],
    ['… of them during the fan-outs', (s) => kv(s.simErrorsInFanOuts)],
    ['load average 1/5/15 min at the end', (s) => s.loadAverage.map((x) => fmt(x, 2)).join(' ')],
  ];
  const nodes = Math.max(...summaries.map((s) => s.nodes));
  const head = [
    nodes > 1 ? `figure ("server": all ${nodes} nodes together)` : 'figure',
    ...summaries.map((s) => `N = ${s.n}`),
  ];
  return markdown(
    head,
    rows.map(([label, f]) => [label, ...summaries.map(f)]),
  );
}

/** Where the CPU went at one size: one column per party. */
export function partyTable(s: SizeSummary, runs: number): string {
  const rows: [string, (p: PartySummary) => string][] = [
    [
      'agents held: live agent_presence rows after the idle window / after the fan-outs',
      (p) => `${fmt(p.agentsHeld, 0)} / ${fmt(p.agentsHeldAfter, 0)}`,
    ],
    ['RSS, idle with N agents (MiB)', (p) => fmt(p.idleRssMiB)],
    ['peak RSS (MiB)', (p) => fmt(p.peakRssMiB)],
    [`idle CPU (% of one core, ${fmt(s.idleWindowS, 0)} s window)`, (p) => fmt(p.idleCpuPct, 2)],
    [`CPU during a fan-out, median of ${runs} (s)`, (p) => fmt(p.fanOutCpuS, 2)],
    [`… share of the machine's ${cpus().length} cores over the fan-out (%)`, (p) => fmt(p.fanOutMachinePct, 1)],
    ['CPU per executed task, median (ms)', (p) => fmt(p.cpuPerTaskMs, 3)],
  ];
  const head = [`N = ${s.n}`, ...s.parties.map((p) => p.name)];
  return markdown(
    head,
    rows.map(([label, f]) => [label, ...s.parties.map(f)]),
  );
}

function markdown(head: string[], body: string[][]): string {
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
