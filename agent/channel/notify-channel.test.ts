import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Kick } from '../../protocol/index.js';
import { createMemoryLogger } from '../shared/index.js';
import { HttpClient } from '../http/index.js';
import { NotifyChannel } from './index.js';
import type { NotifyChannelOptions } from './index.js';
import { startPeer, testCert, testHttpClient, until } from './test-peer.js';
import type { Peer } from './test-peer.js';

type After = { after: (fn: () => unknown) => void };

/** A started channel against a started peer, both cleaned up after the test. */
async function setup(t: After, o: Partial<NotifyChannelOptions> = {}, peerOpts: { autoPong?: boolean } = {}) {
  let peer = await startPeer(peerOpts);
  const http = o.http ?? testHttpClient();
  const log = createMemoryLogger();
  const kicks: { kick: Kick; raw: string }[] = [];
  let connects = 0;
  const ch = new NotifyChannel({
    host: peer.host,
    http,
    log,
    onKick: (kick, raw) => {
      kicks.push({ kick, raw });
      return 'accept';
    },
    onConnected: () => connects++,
    reconnect: { initialMs: 20, maxMs: 100 },
    ...o,
  });
  const ctx = {
    get peer(): Peer {
      return peer;
    },
    set peer(p: Peer) {
      peer = p;
    },
    http,
    log,
    kicks,
    ch,
    connects: () => connects,
  };
  t.after(async () => {
    await ch.stop(AbortSignal.timeout(1_000));
    http.close();
    await ctx.peer.close();
  });
  return ctx;
}

const warns = (log: ReturnType<typeof createMemoryLogger>, msg: string) =>
  log.events.filter((e) => e.level === 'warn' && e.msg === msg);

void describe('NotifyChannel', () => {
  void it('connects with the agent headers, pings keepalive at once and on the interval', async (t) => {
    const c = await setup(t, { pingIntervalMs: 100 });
    assert.equal(c.ch.isConnected, false);
    await c.ch.start();
    assert.equal(c.ch.isConnected, true, 'start() resolves after the first attempt, which succeeded');
    assert.equal(c.ch.name, 'notify-channel');
    await until(() => c.peer.connections.length === 1, 'connection');
    const conn = c.peer.connections[0]!;
    assert.equal(conn.headers['user-agent'], 'linux_amd64/test');
    assert.equal(conn.headers['x-acs-instance-id'], 'mi-1');
    await until(() => conn.pings.length >= 3, '3 pings');
    assert.ok(conn.pings.every((p) => p === 'keepalive'));
    assert.equal(c.connects(), 1);
    assert.ok(c.log.events.some((e) => e.level === 'info' && e.msg === 'notify channel connected'));
  });

  void it('answers kicks: accept, unknow, reject, binary frames; always one text frame each', async (t) => {
    const c = await setup(t, {
      onKick: (kick, raw) => {
        c.kicks.push({ kick, raw });
        return kick.type === 'agent' ? 'reject' : 'accept';
      },
    });
    await c.ch.start();
    await until(() => c.peer.connections.length === 1, 'connection');
    const conn = c.peer.connections[0]!;
    conn.ws.send('kick_vm task run t-1');
    await until(() => conn.received.length === 1, 'reply 1');
    assert.equal(conn.received[0], 'accept:kick_vm task run t-1');
    assert.deepEqual(c.kicks, [{ kick: { type: 'task', action: 'run', id: 't-1' }, raw: 'kick_vm task run t-1' }]);

    conn.ws.send('kick_vm bogus');
    conn.ws.send('kick_vm agent update');
    conn.ws.send(Buffer.from('kick_vm session start c-9'), { binary: true });
    await until(() => conn.received.length === 4, 'replies 2-4');
    assert.deepEqual(conn.received.slice(1), [
      'unknow:kick_vm bogus',
      'reject:kick_vm agent update',
      'accept:kick_vm session start c-9',
    ]);
    assert.equal(conn.binaryFrames, 0);
    assert.equal(c.kicks.length, 3, 'onKick is not called for unknown messages');
    assert.deepEqual(c.kicks[2]?.kick, { type: 'session', action: 'start', id: 'c-9' });
  });

  void it('replies reject and stays connected when onKick throws', async (t) => {
    const c = await setup(t, {
      onKick: () => {
        throw new Error('handler bug');
      },
    });
    await c.ch.start();
    await until(() => c.peer.connections.length === 1, 'connection');
    const conn = c.peer.connections[0]!;
    conn.ws.send('kick_vm');
    await until(() => conn.received.length === 1, 'reply');
    assert.equal(conn.received[0], 'reject:kick_vm');
    assert.ok(c.log.events.some((e) => e.level === 'error' && e.msg === 'kick handler threw'));
    conn.ws.send('kick_vm noop');
    await until(() => conn.received.length === 2, 'second reply');
    assert.equal(c.ch.isConnected, true);
  });

  void it('reconnects when the server closes the socket, with fresh headers, and onConnected fires again', async (t) => {
    let n = 0;
    const http = new HttpClient({
      userAgent: 'linux_amd64/test',
      caPem: testCert().cert,
      identityHeaders: () => ({ 'x-acs-instance-id': 'mi-1', 'x-acs-nonce': String(++n) }),
    });
    const c = await setup(t, { http });
    await c.ch.start();
    await until(() => c.peer.connections.length === 1, 'connection');
    c.peer.connections[0]!.ws.close(1001, 'going away');
    await until(() => c.peer.connections.length === 2 && c.ch.isConnected, 'reconnection');
    assert.equal(c.connects(), 2);
    const nonces = c.peer.connections.map((x) => x.headers['x-acs-nonce']);
    assert.notEqual(nonces[0], nonces[1], 'identity headers are recomputed per connect');
    const w = warns(c.log, 'notify channel reconnecting');
    assert.equal(w.length, 1);
    assert.equal(w[0]?.fields['code'], 1001);
    // The new socket works.
    c.peer.connections[1]!.ws.send('kick_vm noop');
    await until(() => c.peer.connections[1]!.received.length === 1, 'reply on new socket');
  });

  void it('resets the backoff after a connection that stayed up longer than stableAfterMs', async (t) => {
    // Long enough that the short-lived connections below stay short on a loaded machine.
    const stableAfterMs = 2_000;
    const c = await setup(t, { stableAfterMs });
    await c.ch.start();
    const attempts = () => warns(c.log, 'notify channel reconnecting').map((e) => e.fields['attempt']);
    // Two short-lived connections (closed as soon as they are seen): the backoff keeps counting.
    for (let i = 1; i <= 2; i++) {
      await until(() => c.peer.connections.length === i && c.ch.isConnected, `connection ${i}`);
      c.peer.connections[i - 1]!.ws.close(1001);
      await until(() => attempts().length === i, `reconnect ${i}`);
    }
    assert.deepEqual(attempts(), [1, 2]);
    // A connection that outlives stableAfterMs starts the count again.
    await until(() => c.peer.connections.length === 3 && c.ch.isConnected, 'connection 3');
    await new Promise((r) => setTimeout(r, stableAfterMs + 100));
    c.peer.connections[2]!.ws.close(1001);
    await until(() => attempts().length === 3, 'reconnect 3');
    assert.deepEqual(attempts(), [1, 2, 1]);
  });

  void it('keeps reconnecting while the server is down and reconnects when it is back on the same port', async (t) => {
    const c = await setup(t);
    await c.ch.start();
    await until(() => c.ch.isConnected, 'connected');
    const port = c.peer.port;
    await c.peer.close();
    await until(() => warns(c.log, 'notify channel reconnecting').length >= 4, 'failed reconnects');
    assert.equal(c.ch.isConnected, false);
    const failed = warns(c.log, 'notify channel reconnecting').slice(1);
    assert.ok(
      failed.every((e) => e.fields['err'] instanceof Error),
      'refused dials carry the error',
    );
    // Backoff grows (jittered, capped at 100 ms).
    assert.ok(failed.every((e) => (e.fields['delayMs'] as number) <= 100));
    c.peer = await startPeer({ port });
    await until(() => c.peer.connections.length === 1 && c.ch.isConnected, 'reconnection', 5_000);
    assert.equal(c.connects(), 2);
  });

  void it('start() resolves even when the first attempt fails', async (t) => {
    const c = await setup(t);
    await c.peer.close();
    await c.ch.start();
    assert.equal(c.ch.isConnected, false);
    assert.equal(c.connects(), 0);
    assert.ok(warns(c.log, 'notify channel reconnecting').length >= 1);
  });

  void it('treats unanswered pings as a dead connection', async (t) => {
    const c = await setup(t, { pingIntervalMs: 50 }, { autoPong: false });
    await c.ch.start();
    await until(() => c.peer.connections.length >= 2, 'reconnect after missing pongs', 3_000);
    assert.ok(c.log.events.some((e) => e.msg === 'notify channel ping unanswered'));
  });

  void it('stop() closes with 1000 and does not reconnect', async (t) => {
    const c = await setup(t);
    await c.ch.start();
    await until(() => c.peer.connections.length === 1, 'connection');
    await c.ch.stop(AbortSignal.timeout(2_000));
    assert.equal(c.ch.isConnected, false);
    await until(() => c.peer.connections[0]!.closeCode !== undefined, 'server sees the close');
    assert.equal(c.peer.connections[0]!.closeCode, 1000);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(c.peer.connections.length, 1, 'no reconnect after stop');
    assert.equal(warns(c.log, 'notify channel reconnecting').length, 0);
  });

  void it('stop() while reconnecting cancels the pending reconnect', async (t) => {
    // The first retry is due 150-300 ms after start(); the server is back well before that.
    const c = await setup(t, { reconnect: { initialMs: 300, maxMs: 300 } });
    const port = c.peer.port;
    await c.peer.close();
    await c.ch.start();
    await c.ch.stop(AbortSignal.timeout(1_000));
    c.peer = await startPeer({ port });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(c.peer.connections.length, 0);
  });
});
