// Verifies the hybrid signature headers every managed agent sends (luban §7.4), and rejects
// replays: a timestamp outside the window, or a request id seen before within it.
import type { IncomingHttpHeaders } from 'node:http';
import { HybridHeader, hybridSignatureInput, verifyHybrid } from '../../protocol/index.js';
import type { InstanceIdentity } from '../services/index.js';

export const SIGNATURE_WINDOW_MS = 15 * 60_000;

export type AuthResult = { ok: true; instanceId: string } | { ok: false; reason: string };

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

export class HybridAuthenticator {
  readonly #identity: (instanceId: string) => Promise<InstanceIdentity | undefined>;
  readonly #seen = new Map<string, number>();
  constructor(identity: (instanceId: string) => Promise<InstanceIdentity | undefined>) {
    this.#identity = identity;
  }

  async verify(headers: IncomingHttpHeaders, nowMs: number): Promise<AuthResult> {
    const instanceId = header(headers, HybridHeader.instanceId);
    const timestamp = header(headers, HybridHeader.timestamp);
    const requestId = header(headers, HybridHeader.requestId);
    const signature = header(headers, HybridHeader.signature);
    if (!instanceId || !timestamp || !requestId || !signature) {
      return { ok: false, reason: 'missing signature headers' };
    }
    const ts = Number(timestamp);
    if (!Number.isFinite(ts) || Math.abs(nowMs - ts) > SIGNATURE_WINDOW_MS) {
      return { ok: false, reason: 'timestamp outside the allowed window' };
    }
    const identity = await this.#identity(instanceId);
    if (!identity) {
      return { ok: false, reason: 'unknown or deregistered instance' };
    }
    const input = hybridSignatureInput(instanceId, identity.machineId, timestamp, requestId);
    if (!verifyHybrid(identity.publicKey, input, signature)) {
      return { ok: false, reason: 'signature does not match' };
    }
    this.#purge(nowMs);
    const key = `${instanceId}:${requestId}`;
    if (this.#seen.has(key)) {
      return { ok: false, reason: 'request id replayed' };
    }
    this.#seen.set(key, ts + SIGNATURE_WINDOW_MS);
    return { ok: true, instanceId };
  }

  #purge(nowMs: number): void {
    if (this.#seen.size < 10_000) {
      return;
    }
    for (const [k, exp] of this.#seen) {
      if (exp < nowMs) {
        this.#seen.delete(k);
      }
    }
  }
}
