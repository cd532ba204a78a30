// Everything measured at one fleet size, against a control plane started for it (one node, or
// several behind nginx: cluster-setup.ts): connect, an idle window of at least one heartbeat
// interval, then the fan-outs. The control plane and the simulator are stopped before it returns,
// so each size starts from fresh processes (same data dir, same store).
import { userAgent } from '../../protocol/index.js';
import { ApiClient, type AccessKey } from './api-client.js';
import { Deployment } from './cluster-setup.js';
import { cpuDelta, probe, sumOf, type CpuProbe, type CpuSample } from './cpu-probe.js';
import { runFanOut } from './fan-out-run.js';
import { Fleet } from './fleet.js';
import type { KeyPair } from './key-pool.js';
import { LubanHttp } from './luban-http.js';
import { loadAverage, median, sleep, sumCpu } from './metrics.js';
import { ensureFleet } from './registry.js';
import type { SizeResult } from './report.js';
import type { FileLimit } from './spawn-limited.js';
import { Stock } from './stock.js';
import type { BenchStore } from './store-setup.js';

export interface BenchOptions {
  serverBin: string;
  serverArgs: string[];
  serverNodeFlags: string[];
  simNodeFlags: string[];
  /** Environment added for the nodes only. */
  serverEnv: Record<string, string>;
  /** Control-plane nodes (more than one: PostgreSQL, behind nginx). */
  nodes: number;
  workers: number;
  runs: number;
  idleS: number;
  pollMs: number;
  fanOutTimeoutS: number;
  connectTimeoutS: number;
  connectConcurrency: number;
  httpSockets: number;
  perCall: number;
  registerConcurrency: number;
}

/** What is running now, so an interrupted benchmark can kill it. */
export interface Running {
  deployment?: Deployment;
  fleet?: Fleet;
}

const SETTLE_MS = 5_000;

export async function measureSize(
  n: number,
  o: BenchOptions,
  env: {
    /** The data dir every node shares (store, CA, certificate, master key). */
    serverDataDir: string;
    /** Where the registered fleet is kept. */
    fleetDir: string;
    logDir: string;
    store: BenchStore;
    key: AccessKey;
    keys: KeyPair[];
    limit: FileLimit;
    running: Running;
    log: (s: string) => void;
  },
): Promise<SizeResult> {
  const { log, running, store } = env;
  // The server needs to accept one call naming the whole fleet; a flag the user gave wins.
  const defaults = o.serverArgs.includes('--max-instances-per-call')
    ? []
    : ['--max-instances-per-call', String(Math.max(50, n))];
  const deployment = new Deployment();
  running.deployment = deployment;
  await deployment.start({
    bin: o.serverBin,
    nodeFlags: o.serverNodeFlags,
    env: o.serverEnv,
    args: [...defaults, ...store.serverArgs, ...o.serverArgs],
    nodes: o.nodes,
    dataDir: env.serverDataDir,
    logDir: env.logDir,
    limit: env.limit,
    lbConnections: n + o.workers * o.httpSockets + 64,
    log,
  });
  const nodeNames = deployment.nodes.map((x) => x.name);
  const caPem = deployment.caPem;
  const api = new ApiClient(deployment.apiHostPort, env.key, caPem);
  const registrar = new LubanHttp({
    hostPort: deployment.apiHostPort,
    caPem,
    userAgent: userAgent('linux', 'x64', Stock.agentVersion),
    maxSockets: o.registerConcurrency,
  });
  const members = await ensureFleet({
    dir: env.fleetDir,
    n,
    api,
    http: registrar,
    keys: env.keys,
    concurrency: o.registerConcurrency,
    log,
  });
  registrar.close();
  await sleep(1_000);

  const total = (r: Record<string, number>) => Object.values(r).reduce((s, v) => s + v, 0);
  const rssPeakByNode = deployment.rss();
  let rssPeak = total(rssPeakByNode);
  const sampler = setInterval(() => {
    const now = deployment.rss();
    rssPeak = Math.max(rssPeak, total(now));
    for (const [k, v] of Object.entries(now)) {
      rssPeakByNode[k] = Math.max(rssPeakByNode[k] ?? 0, v);
    }
  }, 1_000);
  let fleetPids: readonly number[] = [];
  const cpu: CpuProbe = probe([
    () => deployment.cpu(),
    (): CpuSample => {
      const pg = store.cpuSeconds();
      return pg === undefined ? {} : { postgres: pg };
    },
    () => ({ simulator: sumCpu(fleetPids) }),
  ]);
  try {
    log(`N=${n}: starting ${o.workers} simulator workers, dialling ${deployment.agentHostPort}`);
    const cpu0 = cpu();
    const t0 = Date.now();
    const fleet = await Fleet.start({
      workers: o.workers,
      members,
      keys: env.keys,
      hostPort: deployment.agentHostPort,
      caPem,
      connectConcurrency: o.connectConcurrency,
      httpSockets: o.httpSockets,
      limit: env.limit,
      nodeFlags: o.simNodeFlags,
    });
    running.fleet = fleet;
    fleetPids = fleet.pids;
    const connectDeadline = t0 + o.connectTimeoutS * 1000;
    let c = await fleet.counters();
    while ((c.everConnected < n || c.ready < n) && Date.now() < connectDeadline) {
      await sleep(200);
      c = await fleet.counters();
    }
    const connectCpu = cpuDelta(cpu0, cpu());
    // From the first dial (the workers' own start-up is not the server's time).
    const dialAt = c.firstStartAt || t0;
    const connectMs = c.everConnected >= n ? c.lastFirstOpenAt - dialAt : Number.NaN;
    const readyMs = c.ready >= n ? c.lastReadyAt - dialAt : Number.NaN;
    log(
      `N=${n}: ${c.everConnected} connected in ${(connectMs / 1000).toFixed(2)} s, ` +
        `${c.ready} through startup in ${(readyMs / 1000).toFixed(2)} s`,
    );

    await sleep(SETTLE_MS);
    const windowS = o.idleS > 0 ? o.idleS : (c.heartbeatIntervalMs || Stock.heartbeatDefaultMs) / 1000 + 5;
    log(`N=${n}: idle window ${windowS} s`);
    const c0 = await fleet.counters();
    const s0 = cpu();
    const w0 = performance.now();
    await sleep(windowS * 1000);
    const c1 = await fleet.counters();
    const idleCpu = cpuDelta(s0, cpu());
    const idleRss = deployment.rss();
    const idle = {
      windowS: (performance.now() - w0) / 1000,
      heartbeats: c1.heartbeats + c1.heartbeatFailures - (c0.heartbeats + c0.heartbeatFailures),
      serverCpuS: sumOf(idleCpu, nodeNames),
      simCpuS: idleCpu['simulator'] ?? 0,
      rssMiB: total(idleRss),
      cpu: idleCpu,
      rssByNode: idleRss,
    };
    const held = await store.holdings(deployment.nodes, env.serverDataDir);
    log(`N=${n}: agents held: ${JSON.stringify(held)}`);

    const ids = members.map((m) => m.instanceId);
    const fanOuts = [];
    for (let run = 1; run <= o.runs; run++) {
      const r = await runFanOut({
        api,
        fleet,
        cpu,
        nodes: nodeNames,
        instanceIds: ids,
        run,
        perCall: o.perCall > 0 ? o.perCall : ids.length,
        pollIntervalMs: o.pollMs,
        deadlineMs: o.fanOutTimeoutS * 1000,
        log,
      });
      log(
        `N=${n}: fan-out ${run}: ${r.status} in ${(r.finishedMs / 1000).toFixed(2)} s, ` +
          `server CPU ${r.serverCpuS.toFixed(2)} s, simulator CPU ${r.simCpuS.toFixed(2)} s` +
          (r.cpu['postgres'] === undefined ? '' : `, postgres CPU ${r.cpu['postgres'].toFixed(2)} s`),
      );
      fanOuts.push(r);
      await sleep(2_000);
    }
    const heldAfter = await store.holdings(deployment.nodes, env.serverDataDir);
    const pollCost = await measurePollCost(api, cpu, nodeNames, fanOuts.at(-1)?.invokeIds[0]);
    const counters = await fleet.counters();
    await fleet.stop();
    running.fleet = undefined;
    return {
      n,
      workers: o.workers,
      nodes: nodeNames,
      connected: c.everConnected,
      connectMs,
      readyMs,
      connectServerCpuS: sumOf(connectCpu, nodeNames),
      connectSimCpuS: connectCpu['simulator'] ?? 0,
      connectCpu,
      idle,
      held,
      heldAfterFanOuts: heldAfter,
      rssPeakMiB: rssPeak,
      rssPeakByNode,
      fanOuts,
      pollCost,
      counters,
      loadAverage: loadAverage(),
    };
  } finally {
    clearInterval(sampler);
    api.close();
    running.fleet?.kill();
    running.fleet = undefined;
    await deployment.stop();
    running.deployment = undefined;
  }
}

/**
 * What one DescribeInvocations poll of an N-instance invocation costs the server, measured on its
 * own (10 polls of a finished invocation, quiet fleet), so the fan-out CPU can be split into the
 * polling and the rest.
 */
async function measurePollCost(api: ApiClient, cpu: CpuProbe, nodes: string[], invokeId: string | undefined) {
  if (!invokeId) {
    return { serverCpuMs: Number.NaN, postgresCpuMs: Number.NaN, ms: Number.NaN };
  }
  const polls = 10;
  const ms: number[] = [];
  const cpu0 = cpu();
  for (let i = 0; i < polls; i++) {
    ms.push((await api.call('DescribeInvocations', { InvokeId: invokeId })).ms);
  }
  const d = cpuDelta(cpu0, cpu());
  return {
    serverCpuMs: (sumOf(d, nodes) * 1000) / polls,
    postgresCpuMs: d['postgres'] === undefined ? Number.NaN : (d['postgres'] * 1000) / polls,
    ms: median(ms),
  };
}
