// Everything measured at one fleet size, against a control plane started for it: connect, an idle
// window of at least one heartbeat interval, then the fan-outs. The control plane and the simulator
// are stopped before it returns, so each size starts from a fresh process (same data dir).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { userAgent } from '../../protocol/index.js';
import { ApiClient, type AccessKey } from './api-client.js';
import { runFanOut } from './fan-out-run.js';
import { Fleet } from './fleet.js';
import type { KeyPair } from './key-pool.js';
import { LubanHttp } from './luban-http.js';
import { cpuSeconds, loadAverage, median, rssMiB, sleep, sumCpu } from './metrics.js';
import { ensureFleet } from './registry.js';
import type { SizeResult } from './report.js';
import { freePort, ServerProcess } from './server-process.js';
import type { FileLimit } from './spawn-limited.js';
import { Stock } from './stock.js';

export interface BenchOptions {
  serverBin: string;
  serverArgs: string[];
  serverNodeFlags: string[];
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
  server?: ServerProcess;
  fleet?: Fleet;
}

const SETTLE_MS = 5_000;

export async function measureSize(
  n: number,
  o: BenchOptions,
  env: {
    dataDir: string;
    key: AccessKey;
    keys: KeyPair[];
    limit: FileLimit;
    running: Running;
    log: (s: string) => void;
  },
): Promise<SizeResult> {
  const { log, running } = env;
  // The server needs to accept one call naming the whole fleet; a flag the user gave wins.
  const defaults = o.serverArgs.includes('--max-instances-per-call')
    ? []
    : ['--max-instances-per-call', String(Math.max(50, n))];
  const server = await ServerProcess.start({
    bin: o.serverBin,
    nodeFlags: o.serverNodeFlags,
    dataDir: join(env.dataDir, 'server'),
    port: await freePort(),
    args: [...defaults, ...o.serverArgs],
    limit: env.limit,
    logFile: join(env.dataDir, 'server.log'),
    timeoutMs: 120_000,
  });
  running.server = server;
  const caPem = readFileSync(server.caPath, 'utf8');
  const api = new ApiClient(server.hostPort, env.key, caPem);
  const registrar = new LubanHttp({
    hostPort: server.hostPort,
    caPem,
    userAgent: userAgent('linux', 'x64', Stock.agentVersion),
    maxSockets: o.registerConcurrency,
  });
  const members = await ensureFleet({
    dir: join(env.dataDir, 'fleet'),
    n,
    api,
    http: registrar,
    keys: env.keys,
    concurrency: o.registerConcurrency,
    log,
  });
  registrar.close();
  await sleep(1_000);

  let rssPeak = rssMiB(server.pid);
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(server.pid))), 1_000);
  try {
    log(`N=${n}: starting ${o.workers} simulator workers`);
    const cpu0 = cpuSeconds(server.pid);
    const t0 = Date.now();
    const fleet = await Fleet.start({
      workers: o.workers,
      members,
      keys: env.keys,
      hostPort: server.hostPort,
      caPem,
      connectConcurrency: o.connectConcurrency,
      httpSockets: o.httpSockets,
      limit: env.limit,
    });
    running.fleet = fleet;
    const connectDeadline = t0 + o.connectTimeoutS * 1000;
    let c = await fleet.counters();
    while ((c.everConnected < n || c.ready < n) && Date.now() < connectDeadline) {
      await sleep(200);
      c = await fleet.counters();
    }
    const connectServerCpuS = cpuSeconds(server.pid) - cpu0;
    const connectSimCpuS = sumCpu(fleet.pids);
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
    const s0 = cpuSeconds(server.pid);
    const sim0 = sumCpu(fleet.pids);
    const w0 = performance.now();
    await sleep(windowS * 1000);
    const c1 = await fleet.counters();
    const idle = {
      windowS: (performance.now() - w0) / 1000,
      heartbeats: c1.heartbeats + c1.heartbeatFailures - (c0.heartbeats + c0.heartbeatFailures),
      serverCpuS: cpuSeconds(server.pid) - s0,
      simCpuS: sumCpu(fleet.pids) - sim0,
      rssMiB: rssMiB(server.pid),
    };

    const ids = members.map((m) => m.instanceId);
    const fanOuts = [];
    for (let run = 1; run <= o.runs; run++) {
      const r = await runFanOut({
        api,
        fleet,
        serverPid: server.pid,
        instanceIds: ids,
        run,
        perCall: o.perCall > 0 ? o.perCall : ids.length,
        pollIntervalMs: o.pollMs,
        deadlineMs: o.fanOutTimeoutS * 1000,
        log,
      });
      log(
        `N=${n}: fan-out ${run}: ${r.status} in ${(r.finishedMs / 1000).toFixed(2)} s, ` +
          `server CPU ${r.serverCpuS.toFixed(2)} s, simulator CPU ${r.simCpuS.toFixed(2)} s`,
      );
      fanOuts.push(r);
      await sleep(2_000);
    }
    const pollCost = await measurePollCost(api, server.pid, fanOuts.at(-1)?.invokeIds[0]);
    const counters = await fleet.counters();
    await fleet.stop();
    running.fleet = undefined;
    return {
      n,
      workers: o.workers,
      connected: c.everConnected,
      connectMs,
      readyMs,
      connectServerCpuS,
      connectSimCpuS,
      idle,
      rssPeakMiB: rssPeak,
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
    await server.stop();
    running.server = undefined;
  }
}

/**
 * What one DescribeInvocations poll of an N-instance invocation costs the server, measured on its
 * own (10 polls of a finished invocation, quiet fleet), so the fan-out CPU can be split into the
 * polling and the rest.
 */
async function measurePollCost(api: ApiClient, serverPid: number, invokeId: string | undefined) {
  if (!invokeId) {
    return { serverCpuMs: Number.NaN, ms: Number.NaN };
  }
  const polls = 10;
  const ms: number[] = [];
  const cpu0 = cpuSeconds(serverPid);
  for (let i = 0; i < polls; i++) {
    ms.push((await api.call('DescribeInvocations', { InvokeId: invokeId })).ms);
  }
  return { serverCpuMs: ((cpuSeconds(serverPid) - cpu0) * 1000) / polls, ms: median(ms) };
}
