// Benchmark: the control plane with a fleet of N simulated stock agents (bench/fleet/), for each N:
// time to connect every notify socket, idle RSS and CPU (per heartbeat), and RunCommand fan-outs
// to all N (→ Finished, outcomes, API latency while polling, server CPU per task, simulator CPU).
// Prints figures and ratios, never pass/fail.
//
// Usage: npx tsx scripts/build.ts && npx tsx bench/fan-out.ts [options] N…
// Options whose value starts with "--" take it after "=": --server-args="--delivery-timeout 600".
//   --server-args="…"        extra flags for `assist-server start` (e.g. a database URL)
//   --server-bin FILE        the control plane bundle (default dist/assist-server.cjs)
//   --server-node-flags="…"  flags for the server's node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
//   --keep-data DIR          data dir to use and keep (registered fleet, keys, server store);
//                            a rerun against it skips registration (default: a temp dir, removed)
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
import { summarise, table, type SizeResult } from './fleet/report.js';
import { createAccessKey } from './fleet/server-process.js';
import { measureSize, type BenchOptions, type Running } from './fleet/size-run.js';
import { probeFileLimit } from './fleet/spawn-limited.js';

const ROOT = join(import.meta.dirname, '..');
const KEY_POOL = 64;

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'server-args': { type: 'string', default: '' },
    'server-bin': { type: 'string', default: join(ROOT, 'dist', 'assist-server.cjs') },
    'server-node-flags': { type: 'string', default: '' },
    'keep-data': { type: 'string' },
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
const opts: BenchOptions = {
  serverBin: resolve(a['server-bin']!),
  serverArgs: a['server-args']!.split(/\s+/).filter(Boolean),
  serverNodeFlags: a['server-node-flags']!.split(/\s+/).filter(Boolean),
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
if (!existsSync(opts.serverBin)) {
  throw new Error(`${opts.serverBin} is missing: build it first (npx tsx scripts/build.ts)`);
}

const log = (s: string) => process.stderr.write(`[fan-out ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const keep = a['keep-data'] !== undefined;
const dataDir = keep ? resolve(a['keep-data']!) : mkdtempSync(join(tmpdir(), 'oca-fan-out-'));
mkdirSync(join(dataDir, 'fleet'), { recursive: true });
const running: Running = {};

function cleanUp(): void {
  running.fleet?.kill();
  running.server?.kill();
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
  const keyFile = join(dataDir, 'fleet', 'access-key.json');
  const key: AccessKey = existsSync(keyFile)
    ? (JSON.parse(readFileSync(keyFile, 'utf8')) as AccessKey)
    : await createAccessKey(opts.serverBin, join(dataDir, 'server'));
  writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
  const keys = await loadOrCreateKeyPool(join(dataDir, 'fleet'), KEY_POOL);

  const results: SizeResult[] = [];
  for (const n of sizes) {
    const r = await measureSize(n, opts, { dataDir, key, keys, limit, running, log });
    results.push(r);
    const s = summarise(r);
    console.log(
      JSON.stringify({
        bench: 'fan-out',
        machine: machine(),
        fileLimit: limit.value ?? null,
        workers: opts.workers,
        serverArgs: opts.serverArgs,
        ...s,
        runs: r.fanOuts.map((f) => ({
          finishedMs: f.finishedMs,
          lastReportMs: f.lastReportMs,
          status: f.status,
          calls: f.calls,
          serverCpuS: f.serverCpuS,
          simCpuS: f.simCpuS,
          byStatus: f.byStatus,
        })),
      }),
    );
  }
  console.log(`\nmachine: ${machine()}; ${limit.note}; ${opts.workers} simulator workers`);
  console.log(table(results.map(summarise), opts.runs));
  cleanUp();
} catch (e) {
  log(`failed: ${String((e as Error)?.stack ?? e)}`);
  cleanUp();
  process.exitCode = 1;
}
