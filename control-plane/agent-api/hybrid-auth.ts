// Verifies the hybrid signature headers every managed agent sends (luban §7.4), and rejects
// replays: a timestamp outside the window, or a request id seen before within it. Seen ids are
// kept in the store (RequestIdLedger), so a restart or another node does not forget them.
import type { IncomingHttpHeaders } from 'node:http';
import { HybridHeader, hybridSignatureInput, verifyHybrid } from '../../protocol/index.js';
import type { InstanceIdentity } from '../services/index.js';

export const SIGNATURE_WINDOW_MS = 15 * 60_000;

export type AuthResult = { ok: true; instanceId: string } | { ok: false; reason: string };

/** The port this authenticator needs of the request-id store. */
export interface RequestIdClaims {
  /** Records `id` until `expiresAt`; false when it was recorded before. */
  claim(id: string, expiresAt: number): Promise<boolean>;
}

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

export class HybridAuthenticator {
  readonly #identity: (instanceId: string) => Promise<InstanceIdentity | undefined>;
  readonly #seen: RequestIdClaims;
  constructor(identity: (instanceId: string) => Promise<InstanceIdentity | undefined>, seen: RequestIdClaims) {
    this.#identity = identity;
    this.#seen = seen;
  }

  async verify(headers: IncomingHttpHeaders, nowMs: number): Promise<AuthResult> {
    const instanceId = header(headers, HybridHeader.instanceId);
    const timestamp = header(headers, HybridHeader.timestamp);
    const requestId = header(headers, HybridHeader.requestId);
    const signature = header(headers, HybridHeader.signature);
    if (!instanceId || !timestamp || !requestId || !signature) {
      return { ok: false, reason: 'missing signature headers' };
    }
    // Milliseconds as a decimal integer (§7.4); the claim below keeps it in an integer column.
    const ts = Number(timestamp);
    if (!Number.isSafeInteger(ts)) {
      return { ok: false, reason: 'timestamp is not whole milliseconds' };
    }
    if (Math.abs(nowMs - ts) > SIGNATURE_WINDOW_MS) {
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
    // Kept until the timestamp leaves the window: after that the timestamp check refuses it anyway.
    // A replay repeats the signed timestamp, so the claim (expiry, id) repeats too.
    if (!(await this.#seen.claim(`${instanceId}:${requestId}`, ts + SIGNATURE_WINDOW_MS))) {
      return { ok: false, reason: 'request id replayed' };
    }
    return { ok: true, instanceId };
  }
}
