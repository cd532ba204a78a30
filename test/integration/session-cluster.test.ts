// Sessions across two control-plane nodes on one PostgreSQL: the agent-side peer (its notify
// socket and data channel) on node B, the operator's API call and client socket on node A. Node A
// bridges the client to node B; a shell and a port work through it, and either side ends it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { SessionClient } from '../../cli/session-client.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { createTestDatabase } from '../harness/postgres.js';
import { startSessionPeer, type SessionPeer } from '../harness/session-peer.js';

interface Started {
  SessionId: string;
  WebSocketUrl: string;
}

describe('a session whose client and agent are on different nodes', () => {
  let a: TestControlPlane;
  let b: TestControlPlane;
  let peer: SessionPeer;
  let ca: string;
  const cleanup = suiteCleanup();
  before(async () => {
    const db = await createTestDatabase();
    cleanup.after(() => db.drop());
    const dataDir = mkdtempSync(join(tmpdir(), 'oca-session-cluster-'));
    cleanup.after(() => rmSync(dataDir, { recursive: true, force: true }));
    a = await startControlPlane(cleanup, { dataDir, database: db.url });
    b = await startControlPlane(cleanup, { dataDir, database: db.url });
    peer = await startSessionPeer(cleanup, b);
    // Node B records the agent's presence in the store just after its notify socket opens; node A
    // only knows it from there.
    await eventually(
      () =>
        a.pop.call('DescribeManagedInstances', { 'InstanceId.1': peer.instanceId }) as Promise<{
          Instances: { Connected: boolean }[];
        }>,
      { what: 'node A to see the agent on node B connected', until: (r) => r.Instances[0]?.Connected === true },
    );
    ca = readFileSync(a.caPath, 'utf8');
  });

  async function open(params: Record<string, unknown> = {}) {
    const s = (await a.pop.call('StartTerminalSession', { 'InstanceId.1': peer.instanceId, ...params })) as Started;
    assert.ok(s.WebSocketUrl.includes(a.hostPort), 'the client is sent to node A');
    const client = new SessionClient(s.WebSocketUrl, ca);
    let text = '';
    client.onOutput = (x) => {
      text += x.toString('utf8');
    };
    await client.opened;
    return { s, client, text: () => text };
  }

  it('carries a shell through node A to the agent on node B, and EndTerminalSession on A ends it', async () => {
    const { s, client, text } = await open();
    await eventually(() => text().includes('peer$'), { what: 'the prompt through the bridge' });
    client.resize(101, 33);
    client.send(Buffer.from('echo "n=$((6*7))"; stty size\r'));
    await eventually(() => text().includes('n=42') && text().includes('33 101'), { what: 'output through the bridge' });
    const row = await a.cp.sessions.get(s.SessionId);
    assert.ok(row?.agent_node_url.endsWith(b.hostPort), `the agent channel is on node B: ${row?.agent_node_url}`);
    await a.pop.call('EndTerminalSession', { SessionId: s.SessionId });
    assert.equal((await client.ended).reason, 'Exit');
    await eventually(() => peer.sessions.get(s.SessionId)?.ended !== undefined, { what: 'the agent side to stop' });
    await eventually(() => a.cp.relay.openCount === 0 && b.cp.relay.openCount === 0, {
      what: 'both nodes to let go of the session',
    });
  });

  it('forwards a port through the bridge with the bytes intact', async () => {
    const SIZE = 20 * 1024 * 1024;
    const data = randomBytes(SIZE);
    const source = createServer((sock) => {
      sock.on('error', () => {});
      sock.end(data);
    });
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
    cleanup.after(() => source.close());
    const s = (await a.pop.call('StartTerminalSession', {
      'InstanceId.1': peer.instanceId,
      PortNumber: (source.address() as AddressInfo).port,
    })) as Started;
    const client = new SessionClient(s.WebSocketUrl, ca, { keepaliveMs: 500 });
    const got = createHash('sha256');
    let bytes = 0;
    client.onOutput = (x) => {
      got.update(x);
      bytes += x.length;
    };
    await client.opened;
    assert.equal((await client.ended).reason, 'Exit');
    assert.equal(bytes, SIZE);
    assert.equal(got.digest('hex'), createHash('sha256').update(data).digest('hex'));
  });

  it('refuses a bridge that is not signed for the session', async () => {
    const { s, client, text } = await open();
    await eventually(() => text().includes('peer$'), { what: 'the prompt' });
    const { openBridge } = await import('../../control-plane/session-relay/bridge.js');
    const forged = openBridge(`https://${b.hostPort}`, ca, s.SessionId, 'not-the-token-hash');
    const status = await new Promise<number>((resolve) => {
      forged.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      forged.once('open', () => resolve(101));
      forged.once('error', () => resolve(0));
    });
    assert.equal(status, 401);
    client.close();
  });
});
