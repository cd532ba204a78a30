// Benchmark: the Session Manager relay on loopback. Prints figures; never pass/fail.
//   - keystroke round trip: one byte from a client socket through the control plane to an agent
//     peer that echoes it straight back (no shell, no PTY: the relay's own cost), p50/p99;
//   - port-forward throughput: an agent peer streaming 2048-byte frames (the stock agent's port
//     packet) through the relay to one client socket;
//   - control-plane memory per open session (client and agent sockets both open), measured in
//     the control plane's own process (bench/session-relay-server.ts).
// Usage: npx tsx bench/session-relay.ts [keystrokes=2000] [megabytes=200] [sessions=200]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { SessionClient } from '../cli/session-client.js';
import {
  decodeSessionFrame,
  encodeSessionFrame,
  LubanPath,
  SessionMessageType,
  sessionStatusPath,
  userAgent,
} from '../protocol/index.js';
import type { TestControlPlane } from '../test/harness/control-plane.js';
import { registerRawPeer } from '../test/harness/raw-peer.js';
import { PopClient } from '../test/harness/sdk.js';

const keystrokes = Number(process.argv[2] ?? 2000);
const megabytes = Number(process.argv[3] ?? 200);
const sessionCount = Number(process.argv[4] ?? 200);
const ROOT = join(import.meta.dirname, '..');
const UA = userAgent('linux', 'x64', '2.2.3.578');
const PACKET = 2048;

const server = spawn(
  process.execPath,
  ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench', 'session-relay-server.ts')],
  {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
const nextLine = async () => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
const info = (await nextLine()) as {
  hostPort: string;
  key: { accessKeyId: string; accessKeySecret: string };
  caPath: string;
};
const mem = async () => {
  server.stdin!.write('\n');
  return (await nextLine()) as { rss: number; heapUsed: number; open: number; cpuMs: number };
};
const ca = readFileSync(info.caPath, 'utf8');
const pop = new PopClient(info.hostPort, info.key, info.caPath);
const cleanups: (() => unknown)[] = [];
// registerRawPeer needs only these parts of a test control plane (the server is another process).
const h = {
  hostPort: info.hostPort,
  caPath: info.caPath,
  pop,
  cp: { gateway: { isConnected: () => true } },
} as unknown as TestControlPlane;
const peer = await registerRawPeer({ after: (fn) => cleanups.push(fn) }, h);
const notify = await peer.connect();

/** The agent side: echo input back as output, or (port sessions) stream `megabytes` of output. */
notify.on('message', (data) => {
  const [, type, action, id] = String(data).split(' ');
  if (type !== 'session' || action !== 'start' || !id) {
    return;
  }
  void (async () => {
    const r = await peer.send({ method: 'POST', path: `${LubanPath.sessionList}?channelId=${id}`, body: '' });
    const task = (JSON.parse(r.body) as { session: { portNumber: string }[] }).session[0]!;
    const ws = new WebSocket(`wss://${info.hostPort}${LubanPath.sessionBackend}?channelId=${id}`, {
      headers: { 'User-Agent': UA, ...peer.identity() },
      ca,
      perMessageDeflate: false,
    });
    let seq = 0;
    const out = (payload: Uint8Array) =>
      ws.send(
        encodeSessionFrame({
          messageType: SessionMessageType.OutputStreamData,
          sessionId: id,
          payload,
          sequenceNumber: seq++,
        }),
      );
    ws.on('message', (d) => {
      const f = decodeSessionFrame(d as Buffer);
      if (f?.messageType === SessionMessageType.InputStreamData && f.payload.length > 0) {
        out(f.payload);
      }
    });
    if (task.portNumber === '') {
      return;
    }
    await new Promise((resolve) => ws.once('open', resolve));
    const packet = Buffer.alloc(PACKET, 7);
    let left = megabytes * 1024 * 1024;
    while (left > 0) {
      while (ws.bufferedAmount > 4 * 1024 * 1024) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const n = Math.min(PACKET, left);
      out(n === PACKET ? packet : packet.subarray(0, n));
      left -= n;
    }
    ws.close();
    await peer.send({ method: 'POST', path: sessionStatusPath(id, 'Ok'), body: '' });
  })();
});

/** StartTerminalSession, retried while the peer's notify socket is not yet known to the server. */
async function start(params: Record<string, unknown> = {}): Promise<{ WebSocketUrl: string; SessionId: string }> {
  for (;;) {
    try {
      return (await pop.call('StartTerminalSession', { 'InstanceId.1': peer.instanceId, ...params })) as {
        WebSocketUrl: string;
        SessionId: string;
      };
    } catch (e) {
      if ((e as { code?: string }).code !== 'ClientNotOnline') {
        throw e;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

// 1. Keystroke round trip.
{
  const s = await start();
  const c = new SessionClient(s.WebSocketUrl, ca);
  await c.opened;
  let waiting: (() => void) | undefined;
  c.onOutput = () => waiting?.();
  const once = () => new Promise<void>((resolve) => (waiting = resolve));
  // Warm up until the agent side is connected and echoing.
  for (let got = false; !got;) {
    const p = once();
    c.send(Buffer.from('w'));
    got = await Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 200))]);
  }
  for (let i = 0; i < 200; i++) {
    const p = once();
    c.send(Buffer.from('w'));
    await p;
  }
  const rtt: number[] = [];
  for (let i = 0; i < keystrokes; i++) {
    const p = once();
    const t0 = process.hrtime.bigint();
    c.send(Buffer.from('k'));
    await p;
    rtt.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  rtt.sort((a, b) => a - b);
  console.log(
    `keystroke round trip through the relay (${keystrokes} keys): p50 ${quantile(rtt, 0.5).toFixed(2)} ms, p99 ${quantile(rtt, 0.99).toFixed(2)} ms (goal ≤ 5 ms)`,
  );
  c.close();
  await c.ended;
}

// 2. Port-forward throughput, agent → client, 2048-byte frames.
{
  const cpuBefore = (await mem()).cpuMs;
  const benchCpuBefore = process.cpuUsage();
  const s = await start({ PortNumber: 9 });
  const c = new SessionClient(s.WebSocketUrl, ca);
  let bytes = 0;
  let t0 = 0n;
  c.onOutput = (b) => {
    if (bytes === 0) {
      t0 = process.hrtime.bigint();
    }
    bytes += b.length;
  };
  await c.opened;
  await c.ended;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuSeconds = ((await mem()).cpuMs - cpuBefore) / 1000;
  const benchCpu = process.cpuUsage(benchCpuBefore);
  const mib = bytes / 1024 / 1024;
  console.log(
    `port-forward throughput through the relay: ${mib.toFixed(0)} MiB in ${seconds.toFixed(2)} s = ${(mib / seconds).toFixed(1)} MiB/s (goal ≥ 50 MB/s); ` +
      `control-plane CPU ${cpuSeconds.toFixed(2)} s = ${(mib / cpuSeconds).toFixed(0)} MiB per CPU-second; ` +
      `this process (client and agent peer) ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(2)} s CPU`,
  );
}

// 3. Memory per open session.
{
  const before = await mem();
  const clients: SessionClient[] = [];
  for (let i = 0; i < sessionCount; i++) {
    const s = await start();
    const c = new SessionClient(s.WebSocketUrl, ca);
    await c.opened;
    clients.push(c);
  }
  // Each session answers once both of its sockets are up.
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          const t = setInterval(() => c.send(Buffer.from('x')), 100);
          c.onOutput = () => {
            clearInterval(t);
            resolve();
          };
        }),
    ),
  );
  const after = await mem();
  console.log(
    `control-plane memory with ${sessionCount} open sessions (both sockets each): RSS +${((after.rss - before.rss) / sessionCount / 1024).toFixed(1)} KiB/session, heap +${((after.heapUsed - before.heapUsed) / sessionCount / 1024).toFixed(1)} KiB/session (${after.open} open on the relay)`,
  );
  clients.forEach((c) => c.close());
}

for (const fn of cleanups) {
  await fn();
}
server.kill();
process.exit(0);
