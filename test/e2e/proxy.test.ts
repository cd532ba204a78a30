// ALIYUN_ASSIST_PROXY, end to end: the real agent registers, connects its WebSocket, heartbeats and
// runs a command through a real CONNECT proxy on loopback. The agent is given a server name only
// the proxy can resolve (assist.via-proxy.test, in the server certificate), so nothing can reach
// the control plane except through the proxy's tunnels; the proxy requires Basic credentials.
// Also: the agent, started with ALIYUN_ASSIST_LIVENESS_FILE (as the watchdog starts it), keeps that
// file with its pid while it runs and removes it when it stops.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { agentCommand, runAgentCli } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';

const PROXY_ONLY_NAME = 'assist.via-proxy.test';
const USER = 'agent';
const PASSWORD = 'p@ss:w0rd';

interface TestProxy {
  port: number;
  /** CONNECT targets, one per tunnel opened. */
  tunnels: string[];
  /** Tunnels open right now. */
  open: Set<net.Socket>;
  /** Requests refused: bad credentials or a plain (non-CONNECT) request. */
  refused: string[];
}

/** A CONNECT proxy that resolves PROXY_ONLY_NAME to 127.0.0.1 and requires Basic USER:PASSWORD. */
async function startProxy(cleanup: { after(fn: () => unknown): void }): Promise<TestProxy> {
  const p: TestProxy = { port: 0, tunnels: [], open: new Set(), refused: [] };
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    p.refused.push(`${req.method} ${req.url}`);
    res.writeHead(405).end();
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    if (req.headers['proxy-authorization'] !== expected) {
      p.refused.push(`CONNECT ${req.url} without valid credentials`);
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="t"\r\n\r\n');
      return;
    }
    const [host, port] = [req.url!.slice(0, req.url!.lastIndexOf(':')), Number(req.url!.split(':').pop())];
    p.tunnels.push(req.url!);
    const upstream = net.connect({ host: host === PROXY_ONLY_NAME ? '127.0.0.1' : host, port }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    p.open.add(client);
    const done = () => {
      p.open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', done);
    client.on('error', done);
    upstream.on('close', done);
    client.on('close', done);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  p.port = (server.address() as AddressInfo).port;
  cleanup.after(async () => {
    for (const s of p.open) {
      s.destroy();
    }
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return p;
}

describe('the agent through ALIYUN_ASSIST_PROXY', () => {
  const cleanup = suiteCleanup();
  let h: TestControlPlane;
  let proxy: TestProxy;
  let installDir: string;
  let env: Record<string, string>;
  let activation: { ActivationId: string; ActivationCode: string };

  const register = (e: Record<string, string>) =>
    runAgentCli(
      [
        '--register',
        '--RegionId',
        'cn-local',
        '--ActivationCode',
        activation.ActivationCode,
        '--ActivationId',
        activation.ActivationId,
      ],
      e,
    );

  before(async () => {
    h = await startControlPlane(cleanup, { hostnames: ['localhost', PROXY_ONLY_NAME] });
    proxy = await startProxy(cleanup);
    installDir = mkdtempSync(join(tmpdir(), 'oca-proxy-agent-'));
    cleanup.after(() => rmSync(installDir, { recursive: true, force: true }));
    const port = Number(h.hostPort.split(':')[1]);
    env = {
      ALIYUN_ASSIST_SERVER_HOST: `${PROXY_ONLY_NAME}:${port}`,
      ALIYUN_ASSIST_CERT_PATH: h.caPath,
      ALIYUN_ASSIST_INSTALL_DIR: installDir,
      ALIYUN_ASSIST_PROXY: `http://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${proxy.port}`,
    };
    activation = await h.pop.call('CreateActivation', { InstanceCount: 1 });
  });

  it('fails to register, saying why, when the proxy refuses the credentials', async () => {
    const r = await register({ ...env, ALIYUN_ASSIST_PROXY: `http://${USER}:wrong@127.0.0.1:${proxy.port}` });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /register failed/);
    assert.match(r.stderr, /refused CONNECT assist\.via-proxy\.test:\d+: HTTP\/1\.1 407/);
    assert.ok(proxy.refused.some((x) => x.includes('without valid credentials')));
    assert.ok(!r.stderr.includes('wrong@'), 'the password is not printed');
  });

  it('registers, connects, heartbeats and runs a command, all through the proxy', async (t) => {
    const before = proxy.tunnels.length;
    const reg = await register(env);
    assert.equal(reg.status, 0, reg.stderr);
    const instanceId = /instance id: (\S+)/.exec(reg.stdout)![1]!;
    assert.ok(proxy.tunnels.length > before, 'registration went through a tunnel');

    const liveness = join(installDir, 'watchdog', 'agent.alive');
    const c = agentCommand([]);
    const agent = spawn(c.command, c.args, {
      env: { ...process.env, ...env, ALIYUN_ASSIST_LIVENESS_FILE: liveness },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
    t.after(async () => {
      agent.kill('SIGKILL');
      await exited;
    });
    await eventually(() => h.cp.gateway.isConnected(instanceId), { timeoutMs: 30_000, what: 'the WebSocket' });
    await eventually(() => h.pop.call('DescribeCloudAssistantStatus', { 'InstanceId.1': instanceId }), {
      until: (x) => Boolean(x.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus[0]?.LastHeartbeatTime),
      timeoutMs: 30_000,
      what: 'a heartbeat',
    });
    const r = await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: 'echo through-the-proxy',
      'InstanceId.1': instanceId,
    });
    const res = await eventually(() => h.pop.call('DescribeInvocationResults', { InvokeId: r.InvokeId }), {
      until: (x) => x.Invocation.InvocationResults.InvocationResult[0]?.InvokeRecordStatus === 'Finished',
      timeoutMs: 30_000,
      what: 'the command to finish',
    });
    assert.equal(
      Buffer.from(res.Invocation.InvocationResults.InvocationResult[0].Output, 'base64').toString(),
      'through-the-proxy\n',
    );

    // Every connection was a tunnel to the proxy-only name: the WebSocket and the HTTPS requests.
    const port = h.hostPort.split(':')[1];
    assert.ok(proxy.tunnels.length - before >= 3, `tunnels: ${JSON.stringify(proxy.tunnels)}`);
    assert.deepEqual(new Set(proxy.tunnels), new Set([`${PROXY_ONLY_NAME}:${port}`]));
    assert.deepEqual(
      proxy.refused.filter((x) => !x.includes('without valid credentials')),
      [],
      'no plain requests',
    );
    console.log(`# tunnels opened: ${proxy.tunnels.length - before} (registration included)`);

    const log = readFileSync(join(installDir, '2.6.0.1', 'log', 'aliyun_assist_main.log'), 'utf8');
    assert.match(log, /Detected environment variable ALIYUN_ASSIST_PROXY for proxy setting/);
    assert.ok(!log.includes(encodeURIComponent(PASSWORD)) && !log.includes(PASSWORD), 'no password in the log');

    // The liveness file names the agent while it runs and is gone once it stopped.
    assert.equal(readFileSync(liveness, 'utf8'), String(agent.pid));
    agent.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(!existsSync(liveness));
  });
});
