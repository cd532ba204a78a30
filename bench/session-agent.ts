// The agent's share of Session Manager latency and throughput, without the control plane: a TLS
// WebSocket server on loopback plays the session routes, the agent's SessionManager runs in this
// process with a real PTY and real TCP targets. Prints:
//   - keystroke round trip: an input frame to the agent until its echo comes back (PTY running `cat`);
//   - port-forward throughput both ways through one session at a flowLimit of 4 Gbit/s.
// Usage: npx tsx bench/session-agent.ts [MiB=100] [keystrokes=300]
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { testCert } from '../agent/channel/test-peer.js';
import { detectContainment } from '../agent/executor/index.js';
import { nodePtyPosix, SessionManager, sessionBackends, STOCK_SESSION_LIMITS } from '../agent/session/index.js';
import { createMemoryLogger } from '../agent/shared/index.js';
import { HttpClient } from '../agent/http/index.js';
import { SessionMessageType } from '../protocol/index.js';
import { startSessionServer } from '../test/harness/luban-session-server.js';

const MIB = Number(process.argv[2] ?? 100);
const KEYSTROKES = Number(process.argv[3] ?? 300);

const server = await startSessionServer();
const http = new HttpClient({ userAgent: 'linux_amd64/bench', caPem: testCert().cert });
const manager = new SessionManager({
  host: server.host,
  http,
  log: createMemoryLogger(),
  limits: { ...STOCK_SESSION_LIMITS, startDelayMs: 0 },
  backends: sessionBackends({
    pty: nodePtyPosix(),
    containment: detectContainment().containment,
    user: { defaultUser: 'ecs-assist-user', sudoRule: false, sudoersDir: '/nonexistent', platform: 'linux' },
    command: { platform: 'linux', setpriv: undefined, agentUid: process.getuid?.(), agentGid: process.getgid?.() },
  }),
});
const me = (await import('node:os')).userInfo().username;

async function open(channelId: string, entry: Record<string, unknown>) {
  server.entries.set(channelId, [{ channelId, username: me, ...entry }]);
  manager.onKick({ type: 'session', action: 'start', id: channelId });
  for (;;) {
    const c = server.connection(channelId);
    if (c) {
      return c;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

// Keystrokes: one byte in, wait for its echo.
{
  const c = await open('b-keys', { cmdContent: 'cat', flowLimit: 4_000_000_000 });
  let got = 0;
  let waiter: (() => void) | undefined;
  c.ws.on('message', (d: Buffer) => {
    if (d.readUInt32LE(0) === SessionMessageType.OutputStreamData) {
      got += d.length - 60;
      waiter?.();
    }
  });
  await new Promise((r) => setTimeout(r, 300));
  const times: number[] = [];
  for (let i = 0; i < KEYSTROKES; i++) {
    const before = got;
    const t0 = process.hrtime.bigint();
    const echoed = new Promise<void>((resolve) => {
      waiter = () => got > before && resolve();
    });
    server.sendInput('b-keys', 'x');
    await echoed;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(
    `keystroke round trip through the agent (PTY echo), ${KEYSTROKES} keys: p50 ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms`,
  );
  manager.onKick({ type: 'session', action: 'stop', id: 'b-keys' });
}

// Download: the target sends MIB MiB and closes.
{
  const data = randomBytes(MIB * 1024 * 1024);
  const src = createServer((s) => s.end(data));
  await new Promise<void>((r) => src.listen(0, '127.0.0.1', r));
  const port = (src.address() as AddressInfo).port;
  const t0 = Date.now();
  await open('b-down', { portNumber: String(port), targetHost: '127.0.0.1', flowLimit: 4_000_000_000 });
  while (!server.reports.some((r) => r.channelId === 'b-down')) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const s = (Date.now() - t0) / 1000;
  const ok =
    createHash('sha256').update(server.output('b-down')).digest('hex') ===
    createHash('sha256').update(data).digest('hex');
  console.log(
    `port forward agent → server: ${MIB} MiB in ${s.toFixed(2)} s = ${(MIB / s).toFixed(1)} MiB/s (checksum ${ok ? 'ok' : 'BAD'})`,
  );
  src.close();
}

// Upload: frames of 64 KiB to a target that answers with the checksum.
{
  const data = randomBytes(MIB * 1024 * 1024);
  const sink = createServer((s) => {
    const h = createHash('sha256');
    let n = 0;
    s.on('data', (d: Buffer) => {
      h.update(d);
      n += d.length;
      if (n >= data.length) {
        s.end(h.digest('hex'));
      }
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const port = (sink.address() as AddressInfo).port;
  await open('b-up', { portNumber: String(port), targetHost: '127.0.0.1', flowLimit: 4_000_000_000 });
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  for (let off = 0; off < data.length; off += 64 * 1024) {
    server.sendInput('b-up', data.subarray(off, off + 64 * 1024));
  }
  while (!server.reports.some((r) => r.channelId === 'b-up')) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const s = (Date.now() - t0) / 1000;
  const ok = server.output('b-up').toString() === createHash('sha256').update(data).digest('hex');
  console.log(
    `port forward server → agent: ${MIB} MiB in ${s.toFixed(2)} s = ${(MIB / s).toFixed(1)} MiB/s (checksum ${ok ? 'ok' : 'BAD'})`,
  );
  sink.close();
}

await manager.stop(AbortSignal.timeout(5000));
http.close();
await server.close();
