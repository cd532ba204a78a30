// Hybrid request signing (spec/luban-protocol.md §7.4): RSA-MD5 over instance+machine+timestamp+requestId.
import { randomUUID, sign, verify, type KeyObject } from 'node:crypto';

export const HybridHeader = {
  instanceId: 'x-acs-instance-id',
  timestamp: 'x-acs-timestamp',
  requestId: 'x-acs-request-id',
  signature: 'x-acs-signature',
  clientIp: 'X-Client-IP',
} as const;

export const hybridSignatureInput = (instanceId: string, machineId: string, timestamp: string, requestId: string) =>
  instanceId + machineId + timestamp + requestId;

/** `privateKey` may be a parsed KeyObject: parsing a PEM costs more than the signature itself. */
export function signHybrid(privateKey: string | KeyObject, input: string): string {
  return sign('md5', Buffer.from(input), privateKey).toString('base64');
}

/** `publicKey` may be a parsed KeyObject: parsing a PEM costs more than the verification itself. */
export function verifyHybrid(publicKey: string | KeyObject, input: string, signatureB64: string): boolean {
  try {
    return verify('md5', Buffer.from(input), publicKey, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

/** The identity headers of one request, fresh timestamp and request id each time. */
export function hybridHeaders(o: {
  instanceId: string;
  machineId: string;
  privateKeyPem: string;
  /** The same key parsed once (createPrivateKey); used instead of privateKeyPem when given. */
  privateKey?: KeyObject;
  clientIp?: string;
  now?: number;
}): Record<string, string> {
  const timestamp = String(o.now ?? Date.now());
  const requestId = randomUUID();
  let signature = '';
  try {
    signature = signHybrid(
      o.privateKey ?? o.privateKeyPem,
      hybridSignatureInput(o.instanceId, o.machineId, timestamp, requestId),
    );
  } catch {
    // Stock behaviour: an unreadable key gives an empty signature; the headers are still sent.
  }
  const h: Record<string, string> = {
    [HybridHeader.instanceId]: o.instanceId,
    [HybridHeader.timestamp]: timestamp,
    [HybridHeader.requestId]: requestId,
    [HybridHeader.signature]: signature,
  };
  if (o.clientIp) {
    h[HybridHeader.clientIp] = o.clientIp;
  }
  return h;
}
