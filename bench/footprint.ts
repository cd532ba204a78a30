// Benchmark: what the resident agent and its watchdog cost a server, as shipped. The single
// executable (scripts/build-sea.ts) runs the way the service unit runs it: `assist_daemon --start`
// resolves `<install root>/<version>/aliyun-service` (a link to the binary) and supervises it; the
// control plane runs in this process. Every figure is printed next to a bare `node` process that
// does the least the same job needs (https loaded, three keep-alive HTTPS requests and one
// `sh -c 'echo hello'` per task, a 50 MB output read and dropped), measured in the same invocation,
// so the ratio means something on a busy machine; the same script also runs as a single executable
// of its own (same node). Prints figures; never pass/fail.
//
// How much of an executable is resident depends on how its file sits in the page cache: on this
// kernel a fault maps the whole cached folio around it, and the folios are as large as the writes
// that made the file (postject writes 512 KiB at a time). So each executable is installed as a
// copy and its cached pages are dropped before it starts: it is read from disk, as on a server
// after a boot (`--page-cache dropped`, the default). `--page-cache as-built` runs the files as the
// build left them in the page cache; `both` measures every binary both ways; `updated` writes each
// copy as the self-update writes a new version (agent/shared/write-in-pieces.ts) and runs it from
// the page cache, as a server does until its next boot; `self-update` measures it beside a copy
// written in one write (`one-write`, as the self-update wrote one before).
//
// Usage: npx tsx bench/footprint.ts [--binary LABEL=PATH]... [--idle-s 120] [--runs 60]
//          [--after-runs-idle-s 60] [--output-mib 50] [--no-build]
//          [--page-cache dropped|as-built|both|updated|self-update]
// Without --binary it builds this tree's single executable into a temporary directory (label
// "this tree"); --no-build leaves that out, so only the --binary executables are measured. To put
// another commit beside it (docs/benchmarks.md):
//   git archive <commit> | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/
//   (cd /tmp/before && npx tsx scripts/build-sea.ts)
//   npx tsx bench/footprint.ts --binary before=/tmp/before/dist/sea/aliyun-assist
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_VERSION, writeNewFileInPieces } from '../agent/shared/index.js';
import { readStatusFile } from '../agent/watchdog/index.js';
import { buildServer, type ControlPlane } from '../control-plane/index.js';
import { buildSea, injectMainScript } from '../scripts/build-sea.js';
import { PopClient } from '../test/harness/sdk.js';
import { cpuSeconds, machine, quantile } from './dispatch-lib.js';

const { values: opts } = parseArgs({
  options: {
    binary: { type: 'string', multiple: true },
    'idle-s': { type: 'string', default: '120' },
    runs: { type: 'string', default: '60' },
    'after-runs-idle-s': { type: 'string', default: '60' },
    'output-mib': { type: 'string', default: '50' },
    'no-build': { type: 'boolean', default: false },
    'page-cache': { type: 'string', default: 'dropped' },
  },
});
const pageCacheModes = {
  dropped: ['dropped'],
  'as-built': ['as-built'],
  both: ['as-built', 'dropped'],
  updated: ['updated'],
  'self-update': ['one-write', 'updated'],
} as const;
const pageCache = pageCacheModes[opts['page-cache'] as keyof typeof pageCacheModes];
if (pageCache === undefined) {
  throw new Error(`--page-cache must be one of ${Object.keys(pageCacheModes).join(', ')}`);
}
type PageCache = (typeof pageCache)[number];
const idleS = Number(opts['idle-s']);
const runs = Number(opts.runs);
const afterRunsIdleS = Number(opts['after-runs-idle-s']);
const outputMiB = Number(opts['output-mib']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

/**
 * RSS, PSS and private memory of a process, in MiB (smaps_rollup), its peak RSS (VmHWM), and its
 * RSS split into pages of files (mostly the executable) and anonymous memory (heaps, stacks).
 */
interface Mem {
  rss: number;
  pss: number;
  priv: number;
  hwm: number;
  file: number;
  anon: number;
}
function mem(pid: number): Mem {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    rss: kb(rollup, 'Rss') / 1024,
    pss: kb(rollup, 'Pss') / 1024,
    priv: (kb(rollup, 'Private_Clean') + kb(rollup, 'Private_Dirty')) / 1024,
    hwm: kb(status, 'VmHWM') / 1024,
    file: kb(status, 'RssFile') / 1024,
    anon: kb(status, 'RssAnon') / 1024,
  };
}
/** Resets VmHWM to the current RSS (proc(5), clear_refs "5"). */
const resetPeak = (pid: number) => writeFileSync(`/proc/${pid}/clear_refs`, '5');

/**
 * Puts the executable `source` at `dest`: a link to it (`as-built`), a copy written as the
 * self-update writes one (`updated`) or in one write (`one-write`), or a copy whose cached pages
 * are dropped (`dropped`), so that its first start reads it from disk. GNU dd's documented way to
 * drop a file's cache: `oflag=nocache` with `count=0`. fincore says how much is still cached.
 */
function placeExecutable(source: string, dest: string, mode: PageCache): void {
  if (mode === 'as-built') {
    symlinkSync(resolve(source), dest);
    return;
  }
  if (mode === 'updated') {
    writeNewFileInPieces(dest, readFileSync(source), 0o755);
    return;
  }
  if (mode === 'one-write') {
    writeFileSync(dest, readFileSync(source), { flag: 'wx', mode: 0o755 });
    return;
  }
  copyFileSync(source, dest);
  chmodSync(dest, 0o755);
  execFileSync('dd', [`of=${dest}`, 'oflag=nocache', 'conv=notrunc,fdatasync', 'count=0', 'status=none']);
  const cached = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', dest], { encoding: 'utf8' });
  if (Number(cached.trim()) > 0) {
    throw new Error(`${dest}: ${cached.trim()} bytes still in the page cache after dropping it`);
  }
}

interface Figures {
  idle: Mem;
  idleCpuPercent: number;
  afterRuns: Mem;
  peakOutput: number;
  cpuPerEchoMs: number;
  p50Ms: number;
  p90Ms: number;
  daemon?: Mem;
  daemonIdleCpuPercent?: number;
  connectMs?: number;
}

// --- the control plane -------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'oca-bench-footprint-'));
const cp: ControlPlane = await buildServer({ dataDir: join(dir, 'server'), silent: true });
const { port } = await cp.start();
const key = await cp.keys.create('bench');
const hostPort = `127.0.0.1:${port}`;
const api = new PopClient(hostPort, key, cp.tls.caCertPath!);

async function runEcho(instanceId: string, content: string, timeout = 60): Promise<number> {
  const t0 = performance.now();
  let invokeId = '';
  let seen: string | undefined;
  const ended = new Promise<void>((resolveEnded) => {
    const off = cp.invocations.onEnded((e) => {
      if (e.instanceId !== instanceId) {
        return;
      }
      if (invokeId === '' ? (seen = e.invokeId) : e.invokeId === invokeId) {
        off();
        resolveEnded();
      }
    });
  });
  invokeId = (
    await api.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: content,
      Timeout: timeout,
      'InstanceId.1': instanceId,
    })
  ).InvokeId;
  if (seen !== undefined && seen !== invokeId) {
    throw new Error('an execution of another invocation ended');
  }
  await ended;
  return performance.now() - t0;
}

// --- the bare node baseline --------------------------------------------------------------------
// Commands on stdin, one JSON answer per line on stdout.
const BASELINE = String.raw`
const https = require('node:https');
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const [host, port] = process.env.BASE_HOST.split(':');
const tls = require('node:tls');
const secureContext = tls.createSecureContext({ ca: [...tls.rootCertificates, readFileSync(process.env.BASE_CA, 'utf8')] });
const agent = new https.Agent({ keepAlive: true, secureContext });
const get = () => new Promise((ok, fail) => {
  https.get({ host, port, path: '/luban/api/connection_detect', agent }, (res) => { res.resume(); res.on('end', ok); }).on('error', fail);
});
const sh = (script, keep) => new Promise((ok) => {
  const p = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = Buffer.alloc(0);
  const onData = (c) => { if (keep) out = Buffer.from(Buffer.concat([out, c.subarray(-12000)]).subarray(-12000)); };
  p.stdout.on('data', onData); p.stderr.on('data', onData);
  p.on('close', () => ok(out));
});
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let lines = '';
process.stdin.on('data', async (d) => {
  lines += d;
  let i;
  while ((i = lines.indexOf('\n')) >= 0) {
    const cmd = JSON.parse(lines.slice(0, i)); lines = lines.slice(i + 1);
    if (cmd.op === 'tasks') {
      const c0 = cpu(); const ms = [];
      for (let n = 0; n < cmd.n; n++) {
        const t0 = performance.now();
        await get(); await sh('echo hello', true); await get(); await get();
        ms.push(performance.now() - t0);
      }
      process.stdout.write(JSON.stringify({ cpuMs: cpu() - c0, ms }) + '\n');
    } else if (cmd.op === 'output') {
      await sh(cmd.script, true);
      process.stdout.write('{}\n');
    }
  }
});
`;

class Baseline {
  readonly proc: ChildProcess;
  #buf = '';
  #waiting: ((line: string) => void)[] = [];
  constructor(command: string, args: string[]) {
    this.proc = spawn(command, args, {
      env: { ...process.env, BASE_HOST: hostPort, BASE_CA: cp.tls.caCertPath!, NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.proc.stdout!.on('data', (d: Buffer) => {
      this.#buf += d.toString();
      let i;
      while ((i = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 1);
        this.#waiting.shift()?.(line);
      }
    });
  }
  ask<T>(cmd: object): Promise<T> {
    return new Promise((ok) => {
      this.#waiting.push((line) => ok(JSON.parse(line) as T));
      this.proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
    });
  }
  stop(): void {
    this.proc.kill('SIGTERM');
  }
}

// The same command for agent and baseline: `yes` lines cut to exactly N MiB.
const outputScript = `yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz | head -c ${outputMiB * MiB}`;

/**
 * Starts the baseline, gives it its one task, idles it; then, once `turn` resolves (baselines and
 * agents do not run tasks at the same time), the task runs, the second idle and the big output.
 */
async function measureBaseline(command: string, args: string[], turn: Promise<unknown>): Promise<Figures> {
  const b = new Baseline(command, args);
  const pid = b.proc.pid!;
  await b.ask({ op: 'tasks', n: 1 });
  const c0 = cpuSeconds(pid);
  await sleep(idleS * 1000);
  const idleCpuPercent = ((cpuSeconds(pid) - c0) / idleS) * 100;
  const idle = mem(pid);
  await turn;
  const r = await b.ask<{ cpuMs: number; ms: number[] }>({ op: 'tasks', n: runs });
  await sleep(afterRunsIdleS * 1000);
  const afterRuns = mem(pid);
  resetPeak(pid);
  await b.ask({ op: 'output', script: outputScript });
  const peakOutput = mem(pid).hwm;
  b.stop();
  const sorted = [...r.ms].sort((x, y) => x - y);
  return {
    idle,
    idleCpuPercent,
    afterRuns,
    peakOutput,
    cpuPerEchoMs: r.cpuMs / runs,
    p50Ms: quantile(sorted, 0.5),
    p90Ms: quantile(sorted, 0.9),
  };
}

// --- one single executable under its watchdog ---------------------------------------------------
async function measureBinary(
  label: string,
  binary: string,
  mode: PageCache,
  baseline: Promise<unknown> | undefined,
): Promise<Figures> {
  const home = join(dir, label.replace(/\W+/g, '-'));
  const root = join(home, 'aliyun-assist');
  mkdirSync(join(root, AGENT_VERSION), { recursive: true });
  writeFileSync(join(root, 'version'), AGENT_VERSION);
  // As the packages lay it out: the version's aliyun-service, and assist_daemon a link to it.
  const agentPath = join(root, AGENT_VERSION, 'aliyun-service');
  placeExecutable(binary, agentPath, mode);
  const daemonPath = join(home, 'assist_daemon');
  symlinkSync(agentPath, daemonPath);
  const env = {
    ...process.env,
    NODE_OPTIONS: '',
    ALIYUN_ASSIST_SERVER_HOST: hostPort,
    ALIYUN_ASSIST_CERT_PATH: cp.tls.caCertPath!,
    ALIYUN_ASSIST_INSTALL_DIR: root,
  };
  const act = await api.call('CreateActivation', { InstanceCount: 1 });
  const reg = spawn(agentPath, ['--register', '-R', 'cn-local', '-C', act.ActivationCode, '-I', act.ActivationId], {
    env,
  });
  let regOut = '';
  reg.stdout.on('data', (d: Buffer) => (regOut += d.toString()));
  reg.stderr.on('data', (d: Buffer) => (regOut += d.toString()));
  await new Promise((r) => reg.on('close', r));
  const instanceId = /instance id: (\S+)/.exec(regOut)?.[1];
  if (!instanceId) {
    throw new Error(`${label}: register failed: ${regOut}`);
  }
  const stateDir = join(home, 'assist-daemon');
  const t0 = performance.now();
  const daemon = spawn(daemonPath, ['--start', '--state-dir', stateDir], { env, stdio: 'ignore' });
  let agentPid: number | undefined;
  while (agentPid === undefined || !cp.gateway.isConnected(instanceId)) {
    agentPid = readStatusFile(join(stateDir, 'status.json'))?.agent?.pid;
    await sleep(10);
  }
  const connectMs = performance.now() - t0;
  const pid = agentPid;
  const dpid = daemon.pid!;

  await runEcho(instanceId, 'echo hello');
  const c0 = cpuSeconds(pid);
  const d0 = cpuSeconds(dpid);
  await sleep(idleS * 1000);
  const idleCpuPercent = ((cpuSeconds(pid) - c0) / idleS) * 100;
  const daemonIdleCpuPercent = ((cpuSeconds(dpid) - d0) / idleS) * 100;
  const idle = mem(pid);
  const daemonMem = mem(dpid);
  // The baseline idles alongside; its task runs must not overlap the agent's.
  await baseline;

  const ms: number[] = [];
  const r0 = cpuSeconds(pid);
  for (let i = 0; i < runs; i++) {
    ms.push(await runEcho(instanceId, 'echo hello'));
  }
  const cpuPerEchoMs = ((cpuSeconds(pid) - r0) / runs) * 1000;
  await sleep(afterRunsIdleS * 1000);
  const afterRuns = mem(pid);

  resetPeak(pid);
  await runEcho(instanceId, outputScript, 300);
  const peakOutput = mem(pid).hwm;
  const restarts = readStatusFile(join(stateDir, 'status.json'))?.restarts ?? 0;
  if (restarts > 0) {
    console.log(`# ${label}: the watchdog restarted the agent ${restarts} time(s): figures are not of one process`);
  }

  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  ms.sort((x, y) => x - y);
  return {
    idle,
    idleCpuPercent,
    afterRuns,
    peakOutput,
    cpuPerEchoMs,
    p50Ms: quantile(ms, 0.5),
    p90Ms: quantile(ms, 0.9),
    daemon: daemonMem,
    daemonIdleCpuPercent,
    connectMs,
  };
}

// --- run -----------------------------------------------------------------------------------------
const binaries: { label: string; path: string }[] = (opts.binary ?? []).map((b) => {
  const i = b.indexOf('=');
  return i > 0 ? { label: b.slice(0, i), path: b.slice(i + 1) } : { label: b, path: b };
});
if (!opts['no-build']) {
  const sea = await buildSea(join(dir, 'sea'));
  binaries.push({ label: 'this tree', path: sea.binary });
}

const baseSea = join(dir, 'bare-sea');
mkdirSync(baseSea);
writeFileSync(join(baseSea, 'main.cjs'), BASELINE);
injectMainScript(join(baseSea, 'main.cjs'), join(baseSea, 'built'));
// The baselines' executables are placed the way the last mode places the agent's.
const baselineMode = pageCache[pageCache.length - 1]!;
placeExecutable(join(baseSea, 'built'), join(baseSea, 'bare'), baselineMode);
const bareNode = join(baseSea, 'node');
placeExecutable(process.execPath, bareNode, baselineMode);

const results: { label: string; f: Figures }[] = [];
const bases: { label: string; f: Figures }[] = [];
try {
  for (const [i, b] of binaries.entries()) {
    // The baselines idle beside the first binary's idle phase, then run their tasks one at a time.
    let baselines: Promise<unknown> | undefined;
    if (i === 0) {
      let nodeDone!: () => void;
      const nodeTurn = new Promise<void>((r) => (nodeDone = r));
      const node = measureBaseline(bareNode, ['-e', BASELINE], Promise.resolve()).then((f) => {
        bases[0] = { label: 'bare node', f };
        nodeDone();
      });
      const sea = measureBaseline(join(baseSea, 'bare'), [], nodeTurn).then((f) => {
        bases[1] = { label: 'bare single exe', f };
      });
      baselines = Promise.all([node, sea]);
    }
    for (const mode of pageCache) {
      const label = pageCache.length > 1 ? `${b.label} (${mode})` : b.label;
      results.push({ label, f: await measureBinary(label, b.path, mode, baselines) });
      baselines = undefined;
    }
  }
} finally {
  await cp.close();
  rmSync(dir, { recursive: true, force: true });
}

const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(1));
const f2 = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(3));
const rows: [string, (f: Figures) => string, string][] = [
  ['agent idle RSS, MiB (idle after one echo)', (f) => f1(f.idle.rss), '≤ 46'],
  ['  PSS / private, MiB', (f) => `${f1(f.idle.pss)} / ${f1(f.idle.priv)}`, ''],
  ['  RSS of files / anonymous, MiB', (f) => `${f1(f.idle.file)} / ${f1(f.idle.anon)}`, ''],
  [`agent RSS after ${runs} echo runs + ${afterRunsIdleS} s idle, MiB`, (f) => f1(f.afterRuns.rss), '≤ 52'],
  ['  PSS / private, MiB', (f) => `${f1(f.afterRuns.pss)} / ${f1(f.afterRuns.priv)}`, ''],
  [`agent peak RSS, ${outputMiB} MiB of output from one command`, (f) => f1(f.peakOutput), '≤ 70'],
  ['assist_daemon idle RSS, MiB', (f) => f1(f.daemon?.rss ?? f.idle.rss), '≤ 42'],
  ['  PSS / private, MiB', (f) => `${f1((f.daemon ?? f.idle).pss)} / ${f1((f.daemon ?? f.idle).priv)}`, ''],
  ['  RSS of files / anonymous, MiB', (f) => `${f1((f.daemon ?? f.idle).file)} / ${f1((f.daemon ?? f.idle).anon)}`, ''],
  ['agent CPU per echo task, ms (user+sys, the script excluded)', (f) => f1(f.cpuPerEchoMs), '≤ 15'],
  ['RunCommand → Finished, echo, p50 (p90), ms', (f) => `${f1(f.p50Ms)} (${f1(f.p90Ms)})`, '≤ 35'],
  ['agent idle CPU, %', (f) => f2(f.idleCpuPercent), '≤ 0.05'],
  ['assist_daemon idle CPU, %', (f) => f2(f.daemonIdleCpuPercent ?? f.idleCpuPercent), ''],
  ['start of assist_daemon → agent connected, ms', (f) => (f.connectMs ? f.connectMs.toFixed(0) : '–'), ''],
];
console.log(
  `machine: ${machine()}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
);
console.log(
  `idle ${idleS} s after one echo; ${runs} sequential echo runs, then ${afterRunsIdleS} s idle; ${outputMiB} MiB output`,
);
console.log(
  'bare node: https loaded; per task 3 keep-alive HTTPS requests + sh -c "echo hello"; output read and dropped',
);
console.log(`page cache: ${pageCache.join(', ')} (baselines: ${baselineMode})`);
const header = ['figure', ...results.map((r) => r.label), ...bases.map((b) => b.label), 'goal'];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const [name, get, goal] of rows) {
  console.log(`| ${[name, ...results.map((r) => get(r.f)), ...bases.map((b) => get(b.f)), goal].join(' | ')} |`);
}
const x = (a: number, c: number) => `${(a / c).toFixed(2)}×`;
for (const base of bases) {
  const b = base.f;
  console.log(`ratios to ${base.label} (RSS idle / after runs / peak output; daemon RSS; CPU per echo):`);
  for (const r of results) {
    console.log(
      `  ${r.label}: ${x(r.f.idle.rss, b.idle.rss)} / ${x(r.f.afterRuns.rss, b.afterRuns.rss)} / ${x(r.f.peakOutput, b.peakOutput)}; ` +
        `${x(r.f.daemon!.rss, b.idle.rss)}; ${x(r.f.cpuPerEchoMs, b.cpuPerEchoMs)}`,
    );
  }
}
