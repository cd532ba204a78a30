// Benchmark: what Node itself costs per agent on this machine, with none of the control plane's
// code: the floor under issue 15's per-agent goals (≤ 25 KiB of RSS per idle agent, ≤ 0.3 ms of
// CPU per heartbeat). A bare server process (a `node -e` script: no tsx, no Fastify, no store)
// holds idle connections, or answers requests, from this process; it reports its own RSS and CPU.
//   - memory per idle connection: TCP, TLS, and a WebSocket over TLS (the notify socket), each with
//     glibc's default allocator settings, with MALLOC_MMAP_THRESHOLD_=16384 and with 65536 (the
//     shipped unit's);
//     the certificate is the control plane's own kind (RSA 2048 from a local CA, ensureTls);
//   - CPU per keep-alive HTTPS request (a heartbeat's shape: a small JSON POST and answer) and per
//     WebSocket ping answered with a pong (the stock agent pings its notify socket once a minute),
//     sent one at a time at a fleet's pace (10,000 agents: 167 a second).
//   - the same with TLS ended in nginx (bench/fleet/tls-terminator.ts) and the bare server behind it
//     on plain TCP: memory per idle notify socket and CPU per POST, of the server and of nginx.
// Prints figures; never pass/fail.
// Usage: npx tsx bench/node-floor.ts [--connections 2000] [--requests 3000] [--rate 167] [--rounds 3]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import https from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { ensureTls } from '../control-plane/tls/index.js';
import { cpuSeconds, median, rssMiB, sleep } from './fleet/metrics.js';
import { startTlsTerminator } from './fleet/tls-terminator.js';

const { values: opts } = parseArgs({
  options: {
    connections: { type: 'string', default: '2000' },
    requests: { type: 'string', default: '3000' },
    rate: { type: 'string', default: '167' },
    rounds: { type: 'string', default: '3' },
  },
});
const connections = Number(opts.connections);
const requests = Number(opts.requests);
const rate = Number(opts.rate);
const rounds = Number(opts.rounds);

/** `ws`: the WebSocket server on plain TCP, for TLS ended in nginx in front of it. */
type Mode = 'tcp' | 'tls' | 'wss' | 'ws';

// The bare server: echoes (tcp, tls), or (wss) accepts WebSockets (ws answers pings itself) and
// answers POSTs with a heartbeat-sized JSON. Asked over IPC for its memory (after a full collection)
// and its CPU time.
const SERVER = String.raw`
const fs = require('node:fs');
const mode = process.env.FLOOR_MODE;
const tlsOpts = { key: fs.readFileSync(process.env.FLOOR_KEY), cert: fs.readFileSync(process.env.FLOOR_CERT) };
const echo = (s) => { s.on('data', (b) => s.write(b)); s.on('error', () => {}); };
let server;
if (mode === 'tcp') server = require('node:net').createServer(echo);
else if (mode === 'tls') server = require('node:tls').createServer(tlsOpts, echo);
else {
  const answer = (req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ code: 200, instanceId: 'mi-0123456789abcdef', nextInterval: 60000 });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  };
  server = mode === 'ws'
    ? require('node:http').createServer({ keepAliveTimeout: 72000 }, answer)
    : require('node:https').createServer({ ...tlsOpts, keepAliveTimeout: 72000 }, answer);
  if (mode === 'wss' || mode === 'ws') {
    const { WebSocketServer } = require(process.env.FLOOR_WS);
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (m) => ws.send(m));
      ws.on('error', () => {});
    }));
  }
}
const status = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
process.on('message', (m) => {
  if (m === 'cpu') {
    const u = process.cpuUsage();
    process.send({ cpuMs: (u.user + u.system) / 1000 });
  } else {
    global.gc();
    setTimeout(() => process.send({ rssMiB: status(), heapMiB: process.memoryUsage().heapUsed / 1048576 }), 500);
  }
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
`;

interface Server {
  proc: ChildProcess;
  port: number;
  ask<T>(what: 'cpu' | 'mem'): Promise<T>;
}

async function startServer(
  mode: Mode,
  tls: { key: string; cert: string },
  env: Record<string, string>,
): Promise<Server> {
  const proc = spawn(process.execPath, ['--expose-gc', '-e', SERVER], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env, FLOOR_MODE: mode, FLOOR_KEY: tls.key, FLOOR_CERT: tls.cert, FLOOR_WS: wsPath },
  });
  const next = <T>() => new Promise<T>((resolve) => proc.once('message', (m) => resolve(m as T)));
  const { port } = await next<{ port: number }>();
  return {
    proc,
    port,
    ask: <T>(what: 'cpu' | 'mem') => {
      const answer = next<T>();
      proc.send(what);
      return answer;
    },
  };
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill();
  await exited;
}

/** Opens one connection of the mode and exchanges one message over it; resolves once answered. */
function openOne(mode: Mode, port: number): Promise<{ close(): void }> {
  return new Promise((resolve, reject) => {
    if (mode === 'wss') {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/luban/notify_server`, { rejectUnauthorized: false });
      ws.once('open', () => ws.send('hello'));
      ws.once('message', () => resolve({ close: () => ws.terminate() }));
      ws.once('error', reject);
      return;
    }
    const s: Socket =
      mode === 'tcp'
        ? netConnect(port, '127.0.0.1', () => s.write('hello'))
        : tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => s.write('hello'));
    s.once('data', () => resolve({ close: () => s.destroy() }));
    s.once('error', reject);
  });
}

interface MemFigure {
  mode: Mode;
  allocator: string;
  kibPerConnection: number;
  heapKibPerConnection: number;
}

async function memoryPerConnection(
  mode: Mode,
  allocator: string,
  env: Record<string, string>,
  tls: { key: string; cert: string },
): Promise<MemFigure> {
  const s = await startServer(mode, tls, env);
  const base = await s.ask<{ rssMiB: number; heapMiB: number }>('mem');
  const open: { close(): void }[] = [];
  for (let i = 0; i < connections; i++) {
    open.push(await openOne(mode, s.port));
  }
  const after = await s.ask<{ rssMiB: number; heapMiB: number }>('mem');
  for (const c of open) {
    c.close();
  }
  await stopServer(s);
  return {
    mode,
    allocator,
    kibPerConnection: ((after.rssMiB - base.rssMiB) * 1024) / connections,
    heapKibPerConnection: ((after.heapMiB - base.heapMiB) * 1024) / connections,
  };
}

/**
 * Sends `count` operations one at a time, `rate` a second; returns the server's CPU per operation
 * (and that of another process in the path, `otherCpuMs`, when given).
 */
async function cpuPerOperation(
  s: Server,
  count: number,
  op: () => Promise<void>,
  otherCpuMs: () => number = () => 0,
): Promise<{ serverMs: number; otherMs: number }> {
  for (let i = 0; i < 200; i++) {
    await op(); // connections open, code warm
  }
  const o0 = otherCpuMs();
  const c0 = await s.ask<{ cpuMs: number }>('cpu');
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    pending.push(op());
    const due = t0 + ((i + 1) * 1000) / rate;
    await sleep(Math.max(0, due - performance.now()));
  }
  await Promise.all(pending);
  const c1 = await s.ask<{ cpuMs: number }>('cpu');
  return { serverMs: (c1.cpuMs - c0.cpuMs) / count, otherMs: (otherCpuMs() - o0) / count };
}

/** A heartbeat's shape: a small JSON POST on a keep-alive HTTPS connection, answered with JSON. */
function heartbeatPoster(port: number): { post(): Promise<void>; close(): void } {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  const body = JSON.stringify({
    instanceId: 'mi-0123456789abcdef',
    uptime: 123456,
    virtualType: 'kvm',
    osType: 'linux',
  });
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/luban/api/heart-beat?uptime=123456&timestamp=1765000000000&virt_type=kvm',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.once('end', resolve);
        },
      );
      req.once('error', reject);
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

/** Open notify-style WebSockets; `ping()` pings the next one and resolves on its pong. */
async function pinger(port: number, count: number): Promise<{ ping(): Promise<void>; close(): void }> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i++) {
    sockets.push(
      await new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`wss://127.0.0.1:${port}/luban/notify_server`, { rejectUnauthorized: false });
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      }),
    );
  }
  let n = 0;
  const ping = () =>
    new Promise<void>((resolve) => {
      const ws = sockets[n++ % sockets.length]!;
      ws.once('pong', () => resolve());
      ws.ping();
    });
  return { ping, close: () => sockets.forEach((ws) => ws.terminate()) };
}

/** Per kind, the median and range of the rounds (ms). */
type CpuFigures = Record<'request' | 'pong' | 'both', { median: number; min: number; max: number }>;

/**
 * The three kinds in turn, `rounds` times over (the first of each is slower: JIT tiering, the
 * pool's connections), so that the figures of one run can be compared with each other.
 */
async function cpuFigures(tls: { key: string; cert: string }, rounds: number): Promise<CpuFigures> {
  const s = await startServer('wss', tls, {});
  const hb = heartbeatPoster(s.port);
  const ws = await pinger(s.port, 200);
  const kinds = {
    request: hb.post,
    pong: ws.ping,
    // A heartbeat and a ping at each tick, as a fleet's agents send them each minute.
    both: async () => {
      await Promise.all([hb.post(), ws.ping()]);
    },
  };
  const seen: Record<keyof typeof kinds, number[]> = { request: [], pong: [], both: [] };
  for (let r = 0; r < rounds; r++) {
    for (const [kind, op] of Object.entries(kinds) as [keyof typeof kinds, () => Promise<void>][]) {
      seen[kind].push((await cpuPerOperation(s, requests, op)).serverMs);
    }
  }
  hb.close();
  ws.close();
  await stopServer(s);
  const summary = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
  };
  return { request: summary(seen.request), pong: summary(seen.pong), both: summary(seen.both) };
}

interface OffloadFigures {
  /** Per idle notify socket, RSS KiB: the bare server, and nginx's worker. */
  kib: { server: number; nginx: number };
  /** Per keep-alive POST, CPU ms: the median of the rounds, for each. */
  postMs: { server: number; nginx: number };
}

/**
 * TLS ended in nginx (stream module, `listen … ssl`) and the bare server behind it on plain TCP,
 * with the shipped unit's allocator setting: what a node and nginx hold per idle notify socket,
 * and what a keep-alive POST costs them.
 */
async function offloadFigures(tls: { key: string; cert: string }, rounds: number): Promise<OffloadFigures> {
  const s = await startServer('ws', tls, { MALLOC_MMAP_THRESHOLD_: '65536' });
  const nginx = await startTlsTerminator(s.port, tls, connections + 100);
  try {
    const base = {
      server: (await s.ask<{ rssMiB: number }>('mem')).rssMiB * 1024,
      nginx: rssMiB(nginx.workerPid) * 1024,
    };
    const open: { close(): void }[] = [];
    for (let i = 0; i < connections; i++) {
      open.push(await openOne('wss', nginx.port));
    }
    const held = {
      server: (await s.ask<{ rssMiB: number }>('mem')).rssMiB * 1024,
      nginx: rssMiB(nginx.workerPid) * 1024,
    };
    for (const c of open) {
      c.close();
    }
    const hb = heartbeatPoster(nginx.port);
    const server: number[] = [];
    const other: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const f = await cpuPerOperation(s, requests, hb.post, () => cpuSeconds(nginx.workerPid) * 1000);
      server.push(f.serverMs);
      other.push(f.otherMs);
    }
    hb.close();
    return {
      kib: { server: (held.server - base.server) / connections, nginx: (held.nginx - base.nginx) / connections },
      postMs: { server: median(server), nginx: median(other) },
    };
  } finally {
    await nginx.stop();
    await stopServer(s);
  }
}

const wsPath = createRequire(import.meta.url).resolve('ws');
const dir = mkdtempSync(join(tmpdir(), 'oca-bench-floor-'));
try {
  ensureTls({ dataDir: dir, hostnames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const tlsFiles = { key: join(dir, 'tls', 'server-key.pem'), cert: join(dir, 'tls', 'server.pem') };
  console.log(`machine: node ${process.version}; ${connections} idle connections; ${requests} operations at ${rate}/s`);
  const allocators: [string, Record<string, string>][] = [
    ['glibc defaults', {}],
    ['MALLOC_MMAP_THRESHOLD_=16384', { MALLOC_MMAP_THRESHOLD_: '16384' }],
    ['MALLOC_MMAP_THRESHOLD_=65536', { MALLOC_MMAP_THRESHOLD_: '65536' }],
  ];
  const mem: MemFigure[] = [];
  for (const [label, env] of allocators) {
    for (const mode of ['tcp', 'tls', 'wss'] as const) {
      mem.push(await memoryPerConnection(mode, label, env, tlsFiles));
    }
  }
  console.log('| bare server, per idle connection | RSS, KiB | of it JavaScript heap, KiB |');
  console.log('|---|---|---|');
  for (const m of mem) {
    console.log(
      `| ${m.mode}, ${m.allocator} | ${m.kibPerConnection.toFixed(1)} | ${m.heapKibPerConnection.toFixed(1)} |`,
    );
  }
  const cpu = await cpuFigures(tlsFiles, rounds);
  const f = (x: { median: number; min: number; max: number }) =>
    `${x.median.toFixed(3)} [${x.min.toFixed(3)}–${x.max.toFixed(3)}]`;
  console.log(`| bare server CPU, ${rate} a second, one at a time | ms per operation, median of ${rounds} [range] |`);
  console.log('|---|---|');
  console.log(`| keep-alive HTTPS POST answered with JSON (a heartbeat's shape) | ${f(cpu.request)} |`);
  console.log(`| WebSocket ping answered with a pong | ${f(cpu.pong)} |`);
  console.log(`| a POST and a ping at each tick (one agent's minute): per pair | ${f(cpu.both)} |`);
  const off = await offloadFigures(tlsFiles, rounds);
  console.log('| TLS ended in nginx, the bare server behind it on plain TCP (65536) | bare server | nginx | both |');
  console.log('|---|---|---|---|');
  const k = (x: number) => x.toFixed(1);
  console.log(
    `| per idle notify socket, RSS KiB | ${k(off.kib.server)} | ${k(off.kib.nginx)} | ${k(off.kib.server + off.kib.nginx)} |`,
  );
  const m = (x: number) => x.toFixed(3);
  console.log(
    `| per keep-alive POST, CPU ms (median of ${rounds}) | ${m(off.postMs.server)} | ${m(off.postMs.nginx)} | ${m(off.postMs.server + off.postMs.nginx)} |`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
