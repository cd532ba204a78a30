import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryLogger } from '../shared/index.js';
import { Heartbeat } from './index.js';
import type { HeartbeatOptions } from './index.js';
import { startPeer, testHttpClient, until } from './test-peer.js';
import type { Peer } from './test-peer.js';

const json = (o: unknown) => ({ status: 200, body: JSON.stringify(o) });

async function setup(t: { after: (fn: () => unknown) => void }, o: Partial<HeartbeatOptions> = {}) {
  const peer = await startPeer();
  const http = testHttpClient();
  const log = createMemoryLogger();
  const hb = new Heartbeat({
    host: peer.host,
    http,
    log,
    machineId: 'machine-abc',
    coldStart: true,
    osVersion: 'Linux 6.1 x86_64',
    processStartedAt: Date.now() - 1_234,
    startupRetryDelayMs: 50,
    ...o,
  });
  t.after(async () => {
    await hb.stop(AbortSignal.timeout(1_000));
    http.close();
    await peer.close();
  });
  return { peer, http, log, hb };
}

const FIRST_ONLY = ['virt_type', 'os_version', 'az', 'machineid', 'cold_start'];
const q = (peer: Peer, i: number) => peer.heartbeats[i]!.query;

void describe('Heartbeat', () => {
  void it('sends the base and first-only parameters, counting attempts and successes', async (t) => {
    const { peer, hb } = await setup(t);
    peer.heartbeat = (n) => (n === 0 ? { status: 500, body: 'boom' } : json({ code: 200, nextInterval: 58_000 }));
    const before = Date.now();
    assert.equal(await hb.beatOnce(), false);
    assert.equal(hb.successCount, 0);
    assert.equal(await hb.beatOnce(), true);
    assert.equal(await hb.beatOnce(), true);
    assert.equal(hb.successCount, 2);

    assert.deepEqual(
      peer.heartbeats.map((h) => [h.query.get('index'), h.query.get('seq_no')]),
      [
        ['0', '0'],
        ['0', '1'],
        ['1', '2'],
      ],
    );
    const first = q(peer, 0);
    assert.equal(first.get('virt_type'), 'kvm');
    assert.equal(first.get('os_version'), 'Linux 6.1 x86_64');
    assert.equal(first.get('az'), 'unknown');
    assert.equal(first.get('machineid'), 'machine-abc');
    assert.equal(first.get('cold_start'), 'true');
    assert.equal(first.get('pid'), String(process.pid));
    assert.ok(Number(first.get('process_uptime')) >= 1_234);
    const ts = Number(first.get('timestamp'));
    assert.ok(ts >= before && ts <= Date.now());
    const uptime = Number(first.get('uptime'));
    assert.ok(uptime > 0 && uptime % 1000 === 0, `uptime ${uptime}`);
    // Still index 0 after a failure: the first-only parameters stay until the first success.
    for (const k of FIRST_ONLY) {
      assert.ok(q(peer, 1).has(k), `${k} on the retry`);
    }
    for (const k of FIRST_ONLY) {
      assert.ok(!q(peer, 2).has(k), `${k} after a success`);
    }
    assert.deepEqual([...q(peer, 2).keys()], ['uptime', 'timestamp', 'pid', 'process_uptime', 'index', 'seq_no']);
    // Heartbeats carry the identity headers, unlike discovery probes.
    assert.equal(peer.heartbeats[0]?.headers['x-acs-instance-id'], 'mi-1');
    assert.equal(peer.heartbeats[0]?.headers['user-agent'], 'linux_amd64/test');
    assert.equal(hb.nextIntervalMs, 58_000);
  });

  void it('fails on 4xx, non-JSON and unreachable servers; clamps a bad nextInterval', async (t) => {
    const { peer, hb, log } = await setup(t);
    const replies = [
      { status: 400, body: JSON.stringify({ code: 400, errMsg: 'Required request parameter' }) },
      { status: 200, body: 'not json' },
      json({ code: 200, nextInterval: 1_000 }),
    ];
    peer.heartbeat = (n) => replies[n] ?? json({ code: 200 });
    assert.equal(await hb.beatOnce(), false);
    assert.equal(await hb.beatOnce(), false);
    assert.ok(
      log.events.some((e) => e.msg === 'heartbeat rejected' && e.fields['errMsg'] === 'Required request parameter'),
    );
    assert.equal(await hb.beatOnce(), true);
    assert.ok(hb.nextIntervalMs >= 55_000 && hb.nextIntervalMs <= 65_000, `${hb.nextIntervalMs}`);
    await peer.close();
    assert.equal(await hb.beatOnce(), false);
    assert.equal(hb.successCount, 1);
  });

  void it('start() retries the startup beat: two failures then success', async (t) => {
    const { peer, hb } = await setup(t);
    peer.heartbeat = (n) => (n < 2 ? { status: 503, body: 'busy' } : json({ code: 200, nextInterval: 60_000 }));
    const t0 = Date.now();
    await hb.start();
    assert.equal(hb.successCount, 1);
    assert.equal(peer.heartbeats.length, 3);
    assert.deepEqual(
      peer.heartbeats.map((h) => h.query.get('seq_no')),
      ['0', '1', '2'],
    );
    assert.ok(Date.now() - t0 >= 100, 'two 50 ms pauses between attempts');
    // The next beat is a minute away: nothing more arrives now.
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(peer.heartbeats.length, 3);
  });

  void it('start() gives up after 3 failed attempts without throwing', async (t) => {
    const { peer, hb, log } = await setup(t);
    peer.heartbeat = () => ({ status: 500, body: 'down' });
    await hb.start();
    assert.equal(hb.successCount, 0);
    assert.equal(peer.heartbeats.length, 3);
    assert.ok(log.events.some((e) => e.level === 'warn' && e.msg === 'startup heartbeat failed'));
  });

  void it('beats every intervalMs when overridden, ignoring nextInterval; stop() ends the schedule', async (t) => {
    const { peer, hb } = await setup(t, { intervalMs: 40 });
    peer.heartbeat = () => json({ code: 200, nextInterval: 60_000 });
    await hb.start();
    await until(() => hb.successCount >= 4, '4 heartbeats', 3_000);
    assert.equal(hb.nextIntervalMs, 40);
    assert.deepEqual(
      peer.heartbeats.slice(0, 4).map((h) => h.query.get('index')),
      ['0', '1', '2', '3'],
    );
    await hb.stop(AbortSignal.timeout(1_000));
    const n = peer.heartbeats.length;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(peer.heartbeats.length, n, 'no beats after stop');
  });
});
