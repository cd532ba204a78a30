// The Session Manager control plane against an agent-side peer speaking §6 frames over a real
// WebSocket (test/harness/session-peer.ts: a real shell under a real PTY, real TCP for ports):
// StartTerminalSession → kick → session/list → data channel; the client socket with the stock
// user-side framing; resize, users, idle timeout, EndTerminalSession, tokens, port forwarding.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createServer as createHttpServer, get as httpGet } from 'node:http';
import { before, describe, it } from 'node:test';
import { SessionClient } from '../../cli/session-client.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { apiError } from '../harness/sdk.js';
import { startSessionPeer, type SessionPeer } from '../harness/session-peer.js';
import { startByteSource } from '../harness/byte-source.js';

interface Started {
  SessionId: string;
  SecurityToken: string;
  WebSocketUrl: string;
}

describe('terminal sessions through the control plane', () => {
  let h: TestControlPlane;
  let peer: SessionPeer;
  let ca: string;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup);
    peer = await startSessionPeer(cleanup, h, { idleMs: 2_000 });
    ca = readFileSync(h.caPath, 'utf8');
  });

  const start = (params: Record<string, unknown> = {}): Promise<Started> =>
    h.pop.call('StartTerminalSession', { 'InstanceId.1': peer.instanceId, ...params }) as Promise<Started>;

  /** A client on a new session, collecting output as text. */
  async function open(params: Record<string, unknown> = {}) {
    const s = await start(params);
    const client = new SessionClient(s.WebSocketUrl, ca);
    let text = '';
    client.onOutput = (b) => {
      text += b.toString('utf8');
    };
    await client.opened;
    // Keystrokes go out only once the shell answered (its first prompt).
    return { s, client, text: () => text, clear: () => (text = '') };
  }

  it('returns SessionId, SecurityToken and a WebSocketUrl naming both, as the SDK models them', async () => {
    const s = (await h.ecs.call('startTerminalSession', { instanceId: [peer.instanceId] })) as {
      sessionId: string;
      securityToken: string;
      webSocketUrl: string;
    };
    assert.match(s.sessionId, /^s-[a-z0-9]{20}$/);
    assert.ok(s.securityToken.length >= 32);
    const url = new URL(s.webSocketUrl);
    assert.equal(url.protocol, 'wss:');
    assert.equal(url.searchParams.get('sessionId'), s.sessionId);
    assert.equal(url.searchParams.get('token'), s.securityToken);
    await h.pop.call('EndTerminalSession', { SessionId: s.sessionId });
  });

  it('carries keystrokes to a shell and its prompt and output back', async () => {
    const { client, text } = await open();
    await eventually(() => text().includes('peer$'), { what: 'the prompt' });
    client.send(Buffer.from('echo "sum=$((40+2))"\r'));
    await eventually(() => text().includes('sum=42'), { what: 'the output of echo' });
    client.close();
    await client.ended;
  });

  it('resizes the PTY: stty size follows set_size', async () => {
    const { client, text } = await open();
    await eventually(() => text().includes('peer$'), { what: 'the prompt' });
    client.resize(132, 43);
    client.send(Buffer.from('stty size\r'));
    await eventually(() => text().includes('43 132'), { what: 'stty size 43 132' });
    client.resize(90, 31);
    client.send(Buffer.from('stty size\r'));
    await eventually(() => text().includes('31 90'), { what: 'stty size 31 90' });
    client.close();
  });

  it('runs the shell as the requested non-root user', async () => {
    const user = `oca-s${randomBytes(3).toString('hex')}`;
    execFileSync('useradd', ['-m', '-s', '/bin/bash', user]);
    cleanup.after(() => execFileSync('userdel', ['-r', user], { stdio: 'ignore' }));
    const { client, text } = await open({ Username: user });
    await eventually(() => text().includes('peer$'), { what: 'the prompt' });
    client.send(Buffer.from('echo "me=$(id -un) uid=$(id -u)"\r'));
    await eventually(() => /me=oca-s\w+ uid=[1-9]\d*/.test(text()), { what: 'id of the session user' });
    assert.ok(text().includes(`me=${user}`));
    client.close();
  });

  it('ends an idle session with Timeout, and the client is told AgentTimeout', async () => {
    const { s, client, text } = await open();
    await eventually(() => text().includes('peer$'), { what: 'the prompt' });
    const end = await client.ended;
    assert.equal(end.reason, 'AgentTimeout');
    const d = (await h.pop.call('DescribeTerminalSessions', { SessionId: s.SessionId })) as {
      Sessions: { Session: { Status: string; EndReason: string }[] };
    };
    assert.equal(d.Sessions.Session[0]?.Status, 'Ended');
    assert.equal(d.Sessions.Session[0]?.EndReason, 'Timeout');
  });

  it('EndTerminalSession ends it, and no process of it remains', async () => {
    const { s, client, text } = await open();
    await eventually(() => text().includes('peer$'), { what: 'the prompt' });
    client.send(Buffer.from('sleep 600 &\r'));
    await eventually(() => /\[1\] \d+/.test(text()), { what: 'the background job' });
    const pid = peer.sessions.get(s.SessionId)!.pid!;
    const child = Number(/\[1\] (\d+)/.exec(text())![1]);
    await h.pop.call('EndTerminalSession', { SessionId: s.SessionId });
    const end = await client.ended;
    assert.equal(end.reason, 'Exit');
    const alive = (p: number) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    };
    await eventually(() => !alive(pid) && !alive(child), { what: 'the shell and its job to be gone' });
    const d = (await h.pop.call('DescribeTerminalSessions', { SessionId: s.SessionId })) as {
      Sessions: {
        Session: {
          EndReason: string;
          Connections: { Connection: { Status: string; ClosedReason: string; ClientIP: string }[] };
        }[];
      };
    };
    const session = d.Sessions.Session[0]!;
    assert.equal(session.EndReason, 'EndedByUser');
    assert.equal((session as unknown as { ClientIP: string }).ClientIP.replace('::ffff:', ''), '127.0.0.1');
    assert.equal((session as unknown as { PrincipalId: string }).PrincipalId, h.key.accessKeyId);
    await eventually(
      async () => {
        const again = (await h.pop.call('DescribeTerminalSessions', { SessionId: s.SessionId })) as typeof d;
        return again.Sessions.Session[0]!.Connections.Connection[0]?.Status === 'Closed';
      },
      { what: 'the connection record to close' },
    );
    assert.equal(session.Connections.Connection.length, 1);
    assert.equal(session.Connections.Connection[0]!.ClientIP.replace('::ffff:', ''), '127.0.0.1');
    // The audit trail has the session's connection, its close and its end, with who and from where.
    await h.cp.audit.flush();
    const audited = (await h.pop.call('DescribeAuditEvents', { MaxResults: 100 })) as {
      AuditEvents: {
        AuditEvent: {
          EventAction: string;
          AccessKeyId: string;
          SourceIp: string;
          Result: string;
          Resources: { Resource: string[] };
        }[];
      };
    };
    const ofSession = audited.AuditEvents.AuditEvent.filter((e) =>
      e.Resources.Resource.some((r) => r.endsWith(`:session/${s.SessionId}`)),
    );
    assert.deepEqual(ofSession.map((e) => e.EventAction).sort(), [
      'SessionConnected',
      'SessionDisconnected',
      'SessionEnded',
    ]);
    for (const e of ofSession) {
      assert.equal(e.AccessKeyId, h.key.accessKeyId);
    }
    assert.equal(ofSession.find((e) => e.EventAction === 'SessionConnected')!.SourceIp, '127.0.0.1');
    assert.equal(ofSession.find((e) => e.EventAction === 'SessionEnded')!.Result, 'EndedByUser');
  });

  it('refuses a used token, a foreign token, and a socket without one', async () => {
    const { s, client } = await open();
    const again = new SessionClient(s.WebSocketUrl, ca);
    await assert.rejects(again.opened, /HTTP 401/);
    const other = await start();
    const foreign = new SessionClient(s.WebSocketUrl.replace(s.SecurityToken, other.SecurityToken), ca);
    await assert.rejects(foreign.opened, /HTTP 401/);
    const bare = new SessionClient(s.WebSocketUrl.split('&')[0]!, ca);
    await assert.rejects(bare.opened, /HTTP 401/);
    client.close();
    await h.pop.call('EndTerminalSession', { SessionId: other.SessionId });
  });

  it('refuses bad input with documented codes', async () => {
    assert.equal(
      (await apiError(h.pop.call('StartTerminalSession', { 'InstanceId.1': 'mi-none' }))).code,
      'InvalidInstanceId.NotFound',
    );
    assert.equal((await apiError(start({ PortNumber: 70000 }))).code, 'InvalidParameter.PortNumber');
    assert.equal((await apiError(start({ CommandLine: 'top', PortNumber: 22 }))).code, 'InvalidParameter.CommandLine');
    assert.equal(
      (await apiError(start({ TargetServer: 'a b', PortNumber: 22 }))).code,
      'InvalidParameter.TargetServer',
    );
    assert.equal((await apiError(start({ ConnectionType: 'Carrier' }))).code, 'InvalidParameter.ConnectionType');
    assert.equal(
      (await apiError(h.pop.call('EndTerminalSession', { SessionId: 's-none' }))).code,
      'InvalidSessionId.NotFound',
    );
  });

  it('forwards a port: a real HTTP request, and 100 MB through one connection intact', async () => {
    const web = createHttpServer((_req, res) => res.end('hello over a session'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    cleanup.after(() => web.close());
    const s1 = await start({ PortNumber: (web.address() as AddressInfo).port, TargetServer: '127.0.0.1' });
    // A local listener carrying each connection over the session, as `assist port-forward` does.
    const local = createServer((sock) => {
      const c = new SessionClient(s1.WebSocketUrl, ca);
      c.onOutput = (b) => sock.write(b);
      void c.opened.then(() => sock.on('data', (d) => c.send(d)));
      void c.ended.then(() => sock.end());
    });
    await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
    cleanup.after(() => local.close());
    const body = await new Promise<string>((resolve, reject) => {
      httpGet({ host: '127.0.0.1', port: (local.address() as AddressInfo).port, path: '/' }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    assert.equal(body, 'hello over a session');

    // 100 MB from a server on the agent's side to the client, hashed on both ends.
    const SIZE = 100 * 1024 * 1024;
    const source = await startByteSource(SIZE);
    cleanup.after(() => source.server.close());
    const s2 = await start({ PortNumber: source.port });
    // Nothing goes up this connection but keepalives: they keep the agent's idle limit away.
    const c = new SessionClient(s2.WebSocketUrl, ca, { keepaliveMs: 500 });
    const got = createHash('sha256');
    let bytes = 0;
    c.onOutput = (b) => {
      got.update(b);
      bytes += b.length;
    };
    await c.opened;
    const end = await c.ended;
    assert.equal(end.reason, 'Exit', `after ${bytes} bytes; ${peer.sessions.get(s2.SessionId)?.error ?? ''}`);
    assert.equal(bytes, SIZE);
    assert.equal(got.digest('hex'), source.sentDigest());
  });
});
