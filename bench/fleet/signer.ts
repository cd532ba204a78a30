// The hybrid identity headers of one simulated instance (spec/luban-protocol.md §7.4), from the
// protocol's own names and signature input. The stock agent reads its PEM key per request; here the
// key is parsed once into a KeyObject (the signature bytes are the same), so the simulator's CPU goes
// to the protocol, not to PEM parsing. Many instances share a key pair from the pool (key-pool.ts):
// each still signs with the private key it registered the public half of.
import { createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { HybridHeader, hybridSignatureInput, verifyHybrid } from '../../protocol/index.js';

export class HybridSigner {
  readonly #instanceId: string;
  readonly #machineId: string;
  readonly #key: KeyObject;
  readonly #clientIp: string;
  constructor(instanceId: string, machineId: string, key: KeyObject, clientIp: string) {
    this.#instanceId = instanceId;
    this.#machineId = machineId;
    this.#key = key;
    this.#clientIp = clientIp;
  }

  /** Fresh timestamp (ms) and request id (UUIDv4) on every call, as the stock agent does. */
  headers(now = Date.now()): Record<string, string> {
    const timestamp = String(now);
    const requestId = randomUUID();
    const input = hybridSignatureInput(this.#instanceId, this.#machineId, timestamp, requestId);
    return {
      [HybridHeader.instanceId]: this.#instanceId,
      [HybridHeader.timestamp]: timestamp,
      [HybridHeader.requestId]: requestId,
      [HybridHeader.signature]: sign('md5', Buffer.from(input), this.#key).toString('base64'),
      [HybridHeader.clientIp]: this.#clientIp,
    };
  }
}

/** Parses a PKCS#1 private key once, and checks that our signing verifies with the protocol's verifier. */
export function loadSigningKey(privateKeyPem: string): KeyObject {
  const key = createPrivateKey(privateKeyPem);
  const publicPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  const h = new HybridSigner('mi-selfcheck', 'machine', key, '10.0.0.1').headers();
  const input = hybridSignatureInput('mi-selfcheck', 'machine', h[HybridHeader.timestamp]!, h[HybridHeader.requestId]!);
  if (!verifyHybrid(publicPem, input, h[HybridHeader.signature]!)) {
    throw new Error('hybrid signature self-check failed');
  }
  return key;
}
