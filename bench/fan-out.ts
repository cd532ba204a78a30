// Benchmark: the control plane with a fleet of N simulated stock agents (bench/fleet/), for each N:
// time to connect every notify socket, idle RSS and CPU (per heartbeat), and RunCommand fan-outs
// to all N (→ Finished, outcomes, API latency while polling, server CPU per task, simulator CPU).
// Prints figures and ratios, never pass/fail. Per size it also prints where the CPU went: each
// node, PostgreSQL's processes, nginx, the simulator, this process and other work on the machine.
//
// Usage: npx tsx scripts/build.ts && npx tsx bench/fan-out.ts [options] N…
//   npx tsx bench/fan-out.ts 1000                                 one node on SQLite
//   npx tsx bench/fan-out.ts --store postgres 1000                one node on PostgreSQL
//   npx tsx bench/fan-out.ts --store postgres --nodes 2 1000      two nodes on it behind nginx
// Options whose value starts with "--" take it after "=": --server-args="--delivery-timeout 600".
//   --store sqlite|postgres  the control plane's store (default sqlite). postgres: a throwaway
//                            cluster (test/harness/postgres.ts: initdb in a temp dir, durability off)
//                            with one fresh database, stopped and removed when the benchmark exits
//                            (Ctrl-C too); the fleet is registered again on every invocation
//   --nodes K                control-plane nodes (default 1; K > 1 needs --store postgres): all share
//                            the data dir (node A starts first and makes the CA and master key) and
//                            sit behind nginx (deploy/nginx-stream.conf, least_conn); the agents dial
//                            nginx, the operator API and the registration go to node A directly
//   --server-args="…"        extra flags for every node's `assist-server start` (not --database:
//                            use --store)
//   --server-bin FILE        the control plane bundle (default dist/assist-server.cjs); to pin a build
//                            while others rebuild dist/, copy the bundle and dist/console/ to a dir
//                            that has a node_modules symlink to the repo's
//   --server-node-flags="…"  flags for the server's node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
//   --server-env="K=V …"     environment for every node only (e.g. "MALLOC_MMAP_THRESHOLD_=65536")
//   --sim-node-flags="…"     flags for the simulator workers' node (e.g. "--cpu-prof --cpu-prof-dir=…")
//   --keep-data DIR          data dir to use and keep (registered fleet, keys, server store);
//                            a rerun against it skips registration (default: a temp dir, removed);
//                            with --store postgres only the key pool and the server's CA and master
//                            key are reused: the database is new, so the fleet is registered again
//   --workers K              simulator processes (default 2–4 by CPU count)
//   --runs R                 fan-outs per size (default 3; the median is reported)
//   --idle-s S               idle window (default: the heartbeat interval + 5 s)
//   --poll-ms MS             DescribeInvocations polling interval (default 250)
//   --fan-out-timeout-s S    give up on a fan-out after S (default 600)
//   --connect-timeout-s S    give up waiting for connections after S (default 300)
//   --connect-concurrency C  notify dials in flight per worker (default 256)
//   --http-sockets C         HTTPS keep-alive sockets per worker (default 1024)
//   --per-call M             instances per RunCommand call (default: all in one call)
//   --nofile L               open-file limit for the server and workers (default 1048576)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AccessKey } from './fleet/api-client.js';
import { loadOrCreateKeyPool } from './fleet/key-pool.js';
import { machine } from './fleet/metrics.js';
import { partyTable, summarise, table, type SizeResult } from './fleet/report.js';
import { createAccessKey } from './fleet/server-process.js';
import { measureSize, type BenchOptions, type Running } from './fleet/size-run.js';
import { probeFileLimit } from './fleet/spawn-limited.js';
import { postgresStore, sqliteStore, type BenchStore } from './fleet/store-setup.js';

const ROOT = join(import.meta.dirname, '..');
const KEY_POOL = 64;

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'server-args': { type: 'string', default: '' },
    'server-bin': { type: 'string', default: join(ROOT, 'dist', 'assist-server.cjs') },
    'server-node-flags': { type: 'string', default: '' },
    'server-env': { type: 'string', default: '' },
    'sim-node-flags': { type: 'string', default: '' },
    'keep-data': { type: 'string' },
    store: { type: 'string', default: 'sqlite' },
    nodes: { type: 'string', default: '1' },
    workers: { type: 'string', default: String(Math.max(2, Math.min(4, cpus().length))) },
    runs: { type: 'string', default: '3' },
    'idle-s': { type: 'string', default: '0' },
    'poll-ms': { type: 'string', default: '250' },
    'fan-out-timeout-s': { type: 'string', default: '600' },
    'connect-timeout-s': { type: 'string', default: '300' },
    'connect-concurrency': { type: 'string', default: '256' },
    'http-sockets': { type: 'string', default: '1024' },
    'per-call': { type: 'string', default: '0' },
    nofile: { type: 'string', default: '1048576' },
  },
});

const num = (name: keyof typeof a, min: number): number => {
  const v = Number(a[name]);
  if (!Number.isInteger(v) || v < min) {
    throw new Error(`--${name} must be a whole number ≥ ${min}`);
  }
  return v;
};
const sizes = (positionals.length > 0 ? positionals : ['1000']).map(Number).sort((x, y) => x - y);
if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
  throw new Error(`sizes must be positive whole numbers: ${positionals.join(' ')}`);
}
const storeKind = a.store;
if (storeKind !== 'sqlite' && storeKind !== 'postgres') {
  throw new Error(`--store must be sqlite or postgres, not ${storeKind}`);
}
const opts: BenchOptions = {
  serverBin: resolve(a['server-bin']!),
  serverArgs: a['server-args']!.split(/\s+/).filter(Boolean),
  serverNodeFlags: a['server-node-flags']!.split(/\s+/).filter(Boolean),
  simNodeFlags: a['sim-node-flags']!.split(/\s+/).filter(Boolean),
  serverEnv: Object.fromEntries(
    a['server-env']!.split(/\s+/)
      .filter(Boolean)
      .map((kv) => {
        const i = kv.indexOf('=');
        if (i < 1) {
          throw new Error(`--server-env takes K=V pairs, not ${kv}`);
        }
        return [kv.slice(0, i), kv.slice(i + 1)];
      }),
  ),
  nodes: num('nodes', 1),
  workers: num('workers', 1),
  runs: num('runs', 1),
  idleS: num('idle-s', 0),
  pollMs: num('poll-ms', 10),
  fanOutTimeoutS: num('fan-out-timeout-s', 1),
  connectTimeoutS: num('connect-timeout-s', 1),
  connectConcurrency: num('connect-concurrency', 1),
  httpSockets: num('http-sockets', 1),
  perCall: num('per-call', 0),
  registerConcurrency: 32,
};
if (opts.nodes > 1 && storeKind !== 'postgres') {
  throw new Error('--nodes above 1 needs --store postgres (nodes share their store)');
}
if (!existsSync(opts.serverBin)) {
  throw new Error(`${opts.serverBin} is missing: build it first (npx tsx scripts/build.ts)`);
}

const log = (s: string) => process.stderr.write(`[fan-out ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const keep = a['keep-data'] !== undefined;
const dataDir = keep ? resolve(a['keep-data']!) : mkdtempSync(join(tmpdir(), 'oca-fan-out-'));
mkdirSync(join(dataDir, 'fleet'), { recursive: true });
const running: Running = {};
let store: BenchStore | undefined;

/** Synchronous, for signals too; the PostgreSQL cluster is stopped by the harness's exit handler. */
function cleanUp(): void {
  running.fleet?.kill();
  running.deployment?.kill();
  if (!keep) {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    cleanUp();
    process.exit(130);
  });
}

try {
  const limit = probeFileLimit(num('nofile', 1024));
  log(`data dir ${dataDir}; ${limit.note}; ${opts.workers} simulator workers`);
  store = storeKind === 'postgres' ? await postgresStore(log) : sqliteStore();
  const setup = `${opts.nodes} node${opts.nodes > 1 ? 's behind nginx' : ''} on ${store.kind}`;
  // The fleet and the AccessKey live in the store: a new PostgreSQL database knows neither.
  const fleetDir = join(dataDir, store.fleetDirName);
  if (store.kind === 'postgres') {
    rmSync(fleetDir, { recursive: true, force: true });
  }
  mkdirSync(fleetDir, { recursive: true });
  const serverDataDir = join(dataDir, store.kind === 'postgres' ? 'server-postgres' : 'server');
  const keyFile = join(fleetDir, 'access-key.json');
  const key: AccessKey = existsSync(keyFile)
    ? (JSON.parse(readFileSync(keyFile, 'utf8')) as AccessKey)
    : await createAccessKey(opts.serverBin, serverDataDir, store.serverArgs);
  writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
  const keys = await loadOrCreateKeyPool(join(dataDir, 'fleet'), KEY_POOL);

  const results: SizeResult[] = [];
  for (const n of sizes) {
    const r = await measureSize(n, opts, {
      serverDataDir,
      fleetDir,
      logDir: dataDir,
      store,
      key,
      keys,
      limit,
      running,
      log,
    });
    results.push(r);
    const s = summarise(r);
    console.log(
      JSON.stringify({
        bench: 'fan-out',
        machine: machine(),
        fileLimit: limit.value ?? null,
        workers: opts.workers,
        store: store.kind,
        serverArgs: opts.serverArgs,
        serverEnv: opts.serverEnv,
        ...s,
        held: r.held,
        heldAfterFanOuts: r.heldAfterFanOuts,
        idleCpuS: r.idle.cpu,
        connectCpuS: r.connectCpu,
        runs: r.fanOuts.map((f) => ({
          finishedMs: f.finishedMs,
          lastReportMs: f.lastReportMs,
          status: f.status,
          calls: f.calls,
          serverCpuS: f.serverCpuS,
          simCpuS: f.simCpuS,
          cpuS: f.cpu,
          byStatus: f.byStatus,
        })),
      }),
    );
  }
  console.log(`\nmachine: ${machine()}; ${limit.note}; ${opts.workers} simulator workers; ${setup}`);
  console.log(table(results.map(summarise), opts.runs));
  for (const r of results) {
    console.log(`\nwhere the CPU went, N = ${r.n} (${setup}):`);
    console.log(partyTable(summarise(r), opts.runs));
  }
  await store.close();
  cleanUp();
} catch (e) {
  log(`failed: ${String((e as Error)?.stack ?? e)}`);
  cleanUp();
  await store?.close().catch(() => {});
  process.exitCode = 1;
}
