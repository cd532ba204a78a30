import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { before, describe, it } from 'node:test';
import { HybridHeader, hybridHeaders } from '../../protocol/index.js';
import { forEachStore } from '../../test/harness/stores.js';
import { RequestIdLedger } from '../services/request-id-ledger.js';
import { HybridAuthenticator, SIGNATURE_WINDOW_MS } from './hybrid-auth.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const identity = { instanceId: 'mi-auth', machineId: 'machine-1', publicKey: createPublicKey(publicKey) };
const NOW = 1_800_000_000_000;

/** Signed headers as Node's HTTP server hands them over (lower-case names). */
function signed(now = NOW, over: Record<string, string> = {}): IncomingHttpHeaders {
  const h = hybridHeaders({
    instanceId: identity.instanceId,
    machineId: identity.machineId,
    privateKeyPem: privateKey,
    now,
  });
  return Object.fromEntries(Object.entries({ ...h, ...over }).map(([k, v]) => [k.toLowerCase(), v]));
}

forEachStore((store) => {
  describe('HybridAuthenticator', () => {
    let auth: HybridAuthenticator;
    before(async () => {
      const db = await store.open();
      auth = new HybridAuthenticator(
        (id) => Promise.resolve(id === identity.instanceId ? identity : undefined),
        new RequestIdLedger(db),
      );
    });

    it('accepts a signed request once and refuses it replayed, also in the same turn', async () => {
      const h = signed();
      const [first, second] = await Promise.all([auth.verify(h, NOW), auth.verify(h, NOW + 1)]);
      assert.deepEqual(first, { ok: true, instanceId: identity.instanceId });
      assert.deepEqual(second, { ok: false, reason: 'request id replayed' });
      assert.deepEqual(await auth.verify(h, NOW + 60_000), { ok: false, reason: 'request id replayed' });
    });

    it('refuses the same request id under another timestamp: the signature covers the timestamp', async () => {
      const h = signed();
      assert.equal((await auth.verify(h, NOW)).ok, true);
      const moved = { ...h, [HybridHeader.timestamp.toLowerCase()]: String(NOW + 1) };
      assert.deepEqual(await auth.verify(moved, NOW), { ok: false, reason: 'signature does not match' });
    });

    it('refuses timestamps outside the window or not in whole milliseconds', async () => {
      const late = NOW - SIGNATURE_WINDOW_MS - 1;
      assert.deepEqual(await auth.verify(signed(late), NOW), {
        ok: false,
        reason: 'timestamp outside the allowed window',
      });
      for (const ts of ['1800000000000.5', 'soon', '1e400']) {
        const h = signed(NOW, { [HybridHeader.timestamp]: ts });
        assert.deepEqual(await auth.verify(h, NOW), { ok: false, reason: 'timestamp is not whole milliseconds' }, ts);
      }
    });

    it('refuses missing headers, an unknown instance and a wrong signature', async () => {
      const h = signed();
      delete h[HybridHeader.signature.toLowerCase()];
      assert.deepEqual(await auth.verify(h, NOW), { ok: false, reason: 'missing signature headers' });
      const stranger = signed(NOW, { [HybridHeader.instanceId]: 'mi-stranger' });
      assert.deepEqual(await auth.verify(stranger, NOW), { ok: false, reason: 'unknown or deregistered instance' });
      const forged = signed(NOW, { [HybridHeader.requestId]: '00000000-0000-4000-8000-000000000000' });
      assert.deepEqual(await auth.verify(forged, NOW), { ok: false, reason: 'signature does not match' });
    });
  });
});
