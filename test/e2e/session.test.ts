// Issue 17 end to end: a real control plane, a real agent (aliyun-service), sessions through the
// official SDK and the client WebSocket in the stock user-side framing: a shell, resize, a
// non-root user, the idle limit, EndTerminalSession, and port forwarding.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { SessionClient } from '../../cli/session-client.js';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { startByteSource } from '../harness/byte-source.js';

interface Started {
  SessionId: string;
  WebSocketUrl: string;
}
interface Described {
  Sessions: { Session: { Status: string; EndReason: string; Connections: { Connection: { Status: string }[] } }[] };
}

describe('terminal sessions with the real agent', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  let ca: string;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup);
    agent = await startAgent(cleanup, h, { env: { ALIYUN_ASSIST_SESSION_IDLE_MS: '4000' } });
    ca = readFileSync(h.caPath, 'utf8');
  });

  const start = (params: Record<string, unknown> = {}): Promise<Started> =>
    h.pop.call('StartTerminalSession', { 'InstanceId.1': agent.instanceId, ...params }) as Promise<Started>;

  async function shell(params: Record<string, unknown> = {}, keepaliveMs = 1000) {
    const s = await start(params);
    const client = new SessionClient(s.WebSocketUrl, ca, { keepaliveMs });
    let text = '';
    client.onOutput = (b) => {
      text += b.toString('utf8');
    };
    await client.opened;
    const out = () => text;
    /** Types a command and waits for a marker it prints, so typing never races the prompt. */
    const run = async (cmd: string, marker: RegExp) => {
      await eventually(
        () => {
          client.send(Buffer.from(`${cmd}\r`));
          return eventually(() => marker.test(text), { timeoutMs: 3_000, what: cmd });
        },
        { what: `${cmd} to print ${marker}` },
      );
    };
    return { s, client, out, run };
  }

  it('types into a shell and reads the prompt and a command output', async () => {
    const { s, client, out, run } = await shell({ Username: 'root' });
    await eventually(() => /[#$] ?$/m.test(out()), { what: 'a prompt' });
    await run('echo "sum=$((40+2))"', /sum=42/);
    client.close();
    await client.ended;
    // Leaving ends the session: the server records why and stops it on the agent.
    await eventually(
      async () => {
        const d = (await h.pop.call('DescribeTerminalSessions', { SessionId: s.SessionId })) as Described;
        const x = d.Sessions.Session[0];
        return x?.EndReason === 'ClientClosed' && x.Connections.Connection[0]?.Status === 'Closed';
      },
      { what: 'the session to be recorded as ended by the client' },
    );
  });

  it('follows a resize: stty size', async () => {
    const { client, run } = await shell({ Username: 'root' });
    client.resize(132, 43);
    await run('stty size', /43 132/);
    client.resize(100, 30);
    await run('stty size', /30 100/);
    client.close();
  });

  it('runs as a non-root user', async () => {
    const user = `oca-e${randomBytes(3).toString('hex')}`;
    execFileSync('useradd', ['-m', '-s', '/bin/bash', user]);
    cleanup.after(() => execFileSync('userdel', ['-r', user], { stdio: 'ignore' }));
    const { client, run } = await shell({ Username: user });
    await run('echo "me=$(id -un)"', new RegExp(`me=${user}`));
    client.close();
  });

  it('ends an idle session with Timeout', async () => {
    const { s, client } = await shell({ Username: 'root' }, 3_600_000);
    assert.equal((await client.ended).reason, 'AgentTimeout');
    const d = (await h.pop.call('DescribeTerminalSessions', { SessionId: s.SessionId })) as Described;
    assert.equal(d.Sessions.Session[0]?.EndReason, 'Timeout');
  });

  it('EndTerminalSession ends it and no process of it remains', async () => {
    const marker = `oca${randomBytes(4).toString('hex')}`;
    const { s, client, run } = await shell({ Username: 'root' });
    await run(`sleep 7${marker.length}1 & echo "bg=$!"`, /bg=\d+/);
    await h.pop.call('EndTerminalSession', { SessionId: s.SessionId });
    assert.equal((await client.ended).reason, 'Exit');
    await eventually(
      () => {
        const ps = execFileSync('ps', ['-eo', 'args']).toString();
        return !ps.includes(`sleep 7${marker.length}1`);
      },
      { what: 'the session processes to be gone' },
    );
    const d = (await h.pop.call('DescribeTerminalSessions', { SessionId: s.SessionId })) as Described;
    assert.equal(d.Sessions.Session[0]?.EndReason, 'EndedByUser');
  });

  it('forwards a port: an HTTP request and 100 MB with the checksum intact', async () => {
    const web = createHttpServer((_req, res) => res.end('hello through the agent'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    cleanup.after(() => web.close());
    const s1 = await start({ PortNumber: (web.address() as AddressInfo).port, TargetServer: '127.0.0.1' });
    const c1 = new SessionClient(s1.WebSocketUrl, ca);
    let reply = '';
    c1.onOutput = (b) => (reply += b.toString());
    await c1.opened;
    c1.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    await eventually(() => reply.includes('hello through the agent'), { what: 'the HTTP answer' });
    c1.close();

    const SIZE = 100 * 1024 * 1024;
    const source = await startByteSource(SIZE);
    cleanup.after(() => source.server.close());
    const s2 = await start({ PortNumber: source.port });
    const c2 = new SessionClient(s2.WebSocketUrl, ca, { keepaliveMs: 500 });
    const got = createHash('sha256');
    let bytes = 0;
    c2.onOutput = (b) => {
      got.update(b);
      bytes += b.length;
    };
    await c2.opened;
    await c2.ended;
    assert.equal(bytes, SIZE);
    assert.equal(got.digest('hex'), source.sentDigest());
  });
});
