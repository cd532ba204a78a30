import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryLogger } from '../shared/index.js';
import { discoverServer } from './index.js';
import { startPeer, testHttpClient, until } from './test-peer.js';

void describe('discoverServer', () => {
  void it('returns the host when connection_detect answers ok, probing without identity headers', async (t) => {
    const peer = await startPeer();
    const http = testHttpClient();
    t.after(async () => {
      http.close();
      await peer.close();
    });
    const log = createMemoryLogger();
    const host = await discoverServer({ serverHost: peer.host, http, log, signal: AbortSignal.timeout(5_000) });
    assert.equal(host, peer.host);
    assert.equal(peer.detectRequests.length, 1);
    assert.equal(peer.detectRequests[0]?.['user-agent'], 'linux_amd64/test');
    assert.equal(peer.detectRequests[0]?.['x-acs-instance-id'], undefined);
  });

  void it('keeps retrying, with growing delays, until the body is exactly ok', async (t) => {
    const peer = await startPeer();
    const http = testHttpClient();
    t.after(async () => {
      http.close();
      await peer.close();
    });
    const bodies = ['no', 'ok\n', 'no', 'ok'];
    peer.detect = (n) => ({ status: 200, body: bodies[n] ?? 'ok' });
    const log = createMemoryLogger();
    const t0 = Date.now();
    const host = await discoverServer({
      serverHost: peer.host,
      http,
      log,
      signal: AbortSignal.timeout(5_000),
      initialDelayMs: 20,
    });
    assert.equal(host, peer.host);
    assert.equal(peer.detectRequests.length, 4);
    // 20 + 40 + 80 ms of backoff between the four probes.
    assert.ok(Date.now() - t0 >= 140, `took ${Date.now() - t0} ms`);
    const warns = log.events.filter((e) => e.level === 'warn');
    assert.deepEqual(
      warns.map((e) => e.fields['delayMs']),
      [20, 40, 80],
    );
    assert.ok(warns.every((e) => e.msg === 'server probe failed, retrying'));
  });

  void it('caps the delay at maxDelayMs and returns undefined once aborted', async (t) => {
    const peer = await startPeer();
    const http = testHttpClient();
    t.after(async () => {
      http.close();
      await peer.close();
    });
    peer.detect = () => ({ status: 200, body: 'no' });
    const log = createMemoryLogger();
    const ac = new AbortController();
    const p = discoverServer({
      serverHost: peer.host,
      http,
      log,
      signal: ac.signal,
      initialDelayMs: 10,
      maxDelayMs: 30,
    });
    // Abort once the delay had the time to reach the cap (10, 20, then 30 instead of 40).
    await until(() => peer.detectRequests.length >= 4, '4 probes', 10_000);
    ac.abort();
    assert.equal(await p, undefined);
    const delays = log.events.filter((e) => e.level === 'warn').map((e) => e.fields['delayMs'] as number);
    assert.equal(Math.max(...delays), 30);
  });

  void it('returns undefined on abort while the server is unreachable', async (t) => {
    const peer = await startPeer();
    const http = testHttpClient();
    t.after(() => http.close());
    const host = peer.host;
    await peer.close();
    const log = createMemoryLogger();
    const result = await discoverServer({
      serverHost: host,
      http,
      log,
      signal: AbortSignal.timeout(200),
      initialDelayMs: 10,
    });
    assert.equal(result, undefined);
    assert.ok(log.events.some((e) => e.level === 'warn' && e.fields['err'] instanceof Error));
  });

  void it('without a host logs one error and waits for the abort', async (t) => {
    const http = testHttpClient();
    t.after(() => http.close());
    const log = createMemoryLogger();
    const ac = new AbortController();
    let done = false;
    const p = discoverServer({ serverHost: undefined, http, log, signal: ac.signal }).finally(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done, false, 'must wait for the abort');
    ac.abort();
    assert.equal(await p, undefined);
    assert.deepEqual(
      log.events.map((e) => [e.level, e.msg]),
      [['error', 'no server host: set ALIYUN_ASSIST_SERVER_HOST']],
    );
  });
});
