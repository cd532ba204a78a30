import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { eventually } from '../../test/harness/eventually.js';
import { createTestDatabase } from '../../test/harness/postgres.js';
import { forEachStore } from '../../test/harness/stores.js';
import { createServerLogger } from '../shared/index.js';
import { openStore, type Db } from '../store/index.js';
import { DISCONNECT, FleetNotifier, type LocalSockets } from './fleet-notifier.js';
import { joinFleet } from './fleet-membership.js';
import { kickPayloads, PgKickBus } from './kick-bus.js';
import { PresenceStore } from './presence.js';

describe('kickPayloads', () => {
  it('splits ids into NOTIFY payloads under the limit, every id once and in order', () => {
    const ids = Array.from({ length: 3_000 }, (_, i) => `mi-${String(i).padStart(20, '0')}`);
    const payloads = kickPayloads(ids, 'kick_vm task run t-1');
    assert.ok(payloads.length > 1);
    const back: string[] = [];
    for (const p of payloads) {
      assert.ok(Buffer.byteLength(p) < 8_000, `payload of ${Buffer.byteLength(p)} bytes`);
      const v = JSON.parse(p) as { m: string; i: string[] };
      assert.equal(v.m, 'kick_vm task run t-1');
      back.push(...v.i);
    }
    assert.deepEqual(back, ids);
  });
});

/** A gateway stand-in: which agents this "node" holds, and what it was asked to send them. */
function sockets(held: string[]): LocalSockets & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    isConnected: (id) => held.includes(id),
    kick: (id, m) => (held.includes(id) ? (sent.push(`${id} ${m}`), true) : false),
    disconnect: (id) => void sent.push(`${id} closed`),
  };
}

forEachStore((store) => {
  describe('PresenceStore', () => {
    let db: Db;
    before(async () => {
      db = await store.open();
    });

    it('records holders with leases; a node releases only its own rows; a takeover wins', async () => {
      const a = new PresenceStore(db, 'node-a');
      const b = new PresenceStore(db, 'node-b');
      await Promise.all([a.hold('mi-1', 1_000), a.hold('mi-2', 1_000), b.hold('mi-3', 1_000)]);
      assert.deepEqual(
        await a.holders(['mi-1', 'mi-2', 'mi-3', 'mi-4'], 500),
        new Map([
          ['mi-1', 'node-a'],
          ['mi-2', 'node-a'],
          ['mi-3', 'node-b'],
        ]),
      );
      // mi-2 reconnects to B before A notices its socket closed: A's late release leaves B's row.
      await b.hold('mi-2', 1_000);
      await a.release('mi-2');
      assert.equal((await a.holders(['mi-2'], 500)).get('mi-2'), 'node-b');
      // A stops renewing (it died): its rows lapse; B renews: its rows live on.
      await b.renew(5_000);
      assert.deepEqual([...(await b.holders(['mi-1', 'mi-2', 'mi-3'], 2_000)).keys()].sort(), ['mi-2', 'mi-3']);
      await b.releaseAll();
      assert.equal((await b.holders(['mi-2', 'mi-3'], 0)).size, 0);
      await a.clear();
      assert.equal((await a.holders(['mi-1'], 0)).size, 0);
    });

    it('kicks an agent whose socket comes up only when work waits for it, and records its presence', async () => {
      const sent: string[] = [];
      const gateway = {
        isConnected: () => true,
        kick: (id: string, m: string) => (sent.push(`${id} ${m}`), true),
        disconnect: () => {},
        connectedIds: () => [],
        onConnected: (_id: string) => {},
        onDisconnected: (_id: string) => {},
      };
      const log = createServerLogger('error', true);
      const fleet = joinFleet({
        db,
        gateway,
        leaseMs: 60_000,
        log,
        hasWork: async (id) => id === 'mi-busy',
        forget: () => {},
      });
      await fleet.start();
      gateway.onConnected('mi-idle');
      gateway.onConnected('mi-busy');
      await eventually(() => sent.length === 1, { what: 'the kick' });
      assert.deepEqual(sent, ['mi-busy kick_vm']);
      const presence = new PresenceStore(db, fleet.nodeId);
      await eventually(async () => (await presence.holders(['mi-idle', 'mi-busy'], Date.now())).size === 2, {
        what: 'presence rows',
      });
      gateway.onDisconnected('mi-idle');
      await eventually(async () => (await presence.holders(['mi-idle'], Date.now())).size === 0, {
        what: 'the release',
      });
      await fleet.stop();
      assert.equal((await presence.holders(['mi-busy'], Date.now())).size, 0, 'a stopping node forgets its rows');
    });

    it('a single node (no bus) kicks and counts only its own sockets', async () => {
      const presence = new PresenceStore(db, 'solo');
      const local = sockets(['mi-a']);
      const n = new FleetNotifier(local, presence, undefined, (e) => assert.fail(String(e)));
      assert.deepEqual(await n.connectedAmong(['mi-a', 'mi-b']), new Set(['mi-a']));
      n.kick(['mi-a', 'mi-b'], 'kick_vm');
      assert.deepEqual(local.sent, ['mi-a kick_vm']);
    });
  });
});

describe('kicks across nodes through LISTEN/NOTIFY', () => {
  let url: string;
  let db: Db;
  let drop: () => Promise<void>;
  const buses: PgKickBus[] = [];
  before(async () => {
    const t = await createTestDatabase({ migrated: true });
    url = t.url;
    drop = t.drop;
    db = await openStore(url, { poolSize: 4, allowExitOnIdle: true });
  });
  after(async () => {
    for (const b of buses) {
      await b.stop();
    }
    await db.destroy();
    await drop();
  });

  const busOf = (nodeId: string) => {
    const bus = new PgKickBus({
      connectionString: url,
      nodeId,
      notify: async (channel, payload) => {
        await sql`select pg_notify(${channel}, ${payload})`.execute(db);
      },
      onError: () => {},
      reconnectMs: 100,
    });
    buses.push(bus);
    return bus;
  };

  it('routes a kick to the node holding the agent, and resyncs after losing its listener', async () => {
    const presenceA = new PresenceStore(db, 'na');
    const presenceB = new PresenceStore(db, 'nb');
    await presenceB.hold('mi-on-b', Date.now() + 60_000);
    const localA = sockets(['mi-on-a']);
    const localB = sockets(['mi-on-b']);
    const busA = busOf('na');
    const busB = busOf('nb');
    let resyncs = 0;
    const toA: string[] = [];
    await busA.start({ kick: (ids, m) => toA.push(...ids.map((id) => `${id} ${m}`)), resync: () => {} });
    await busB.start({
      kick: (ids, m) => ids.forEach((id) => (m === DISCONNECT ? localB.disconnect(id) : localB.kick(id, m))),
      resync: () => resyncs++,
    });
    const a = new FleetNotifier(localA, presenceA, busA, (e) => assert.fail(String(e)));
    assert.deepEqual(await a.connectedAmong(['mi-on-a', 'mi-on-b', 'mi-nowhere']), new Set(['mi-on-a', 'mi-on-b']));
    a.kick(['mi-on-a', 'mi-on-b', 'mi-nowhere'], 'kick_vm task run t-9');
    assert.deepEqual(localA.sent, ['mi-on-a kick_vm task run t-9']);
    await eventually(() => localB.sent.includes('mi-on-b kick_vm task run t-9'), { what: 'the kick to reach B' });
    a.disconnect('mi-on-b');
    await eventually(() => localB.sent.includes('mi-on-b closed'), { what: 'the disconnect to reach B' });
    // A deregistration is broadcast (every node forgets the identity); kicks went to B alone.
    await eventually(() => toA.length > 0, { what: 'the broadcast to reach A too' });
    assert.deepEqual(toA, [`mi-on-b ${DISCONNECT}`]);

    // B's listening connection dies (a restart of the database, a network cut): B listens again
    // and asks its agents to fetch, since notifications in between are lost.
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${'oca-kick-listener-nb'}`.execute(
      db,
    );
    await eventually(() => resyncs === 1, { what: 'B to resync' });
    a.kick(['mi-on-b'], 'kick_vm');
    await eventually(() => localB.sent.includes('mi-on-b kick_vm'), { what: 'a kick after the reconnect' });
  });
});
