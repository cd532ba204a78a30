// Signature v1 of the Alibaba Cloud RPC API (HMAC-SHA1 over the sorted parameters), as
// @alicloud/pop-core sends it and control-plane/openapi/signature.ts verifies it. Pure functions.
import { createHmac, randomUUID } from 'node:crypto';

export const API_VERSION = '2014-05-26';

/** RFC 3986 encoding: only A-Z a-z 0-9 - _ . ~ stay literal, space is %20. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** METHOD&%2F&encode(canonical query): every parameter but Signature, sorted by key (UTF-16 order). */
export function stringToSign(method: string, params: Record<string, string>): string {
  const canonical = Object.entries(params)
    .filter(([key]) => key !== 'Signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`)
    .join('&');
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(canonical)}`;
}

/** The Signature value: base64 HMAC-SHA1 keyed with the secret plus '&'. */
export function signatureOf(method: string, params: Record<string, string>, accessKeySecret: string): string {
  return createHmac('sha1', `${accessKeySecret}&`).update(stringToSign(method, params), 'utf8').digest('base64');
}

/** `yyyy-MM-ddTHH:mm:ssZ`, the Timestamp format the API accepts. */
export function apiTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface SignInput {
  method: string;
  action: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Business parameters, already flat (`InstanceId.1`, `Tag.1.Key`, JSON strings). */
  params: Record<string, string>;
  at?: Date;
  nonce?: string;
  /** The API version (default the ECS one, 2014-05-26; the parameter store's is 2019-06-01). */
  version?: string;
}

/** All parameters of a signed request: the business ones, the protocol ones and Signature. */
export function signRequest(input: SignInput): Record<string, string> {
  const all: Record<string, string> = {
    ...input.params,
    Action: input.action,
    Version: input.version ?? API_VERSION,
    Format: 'JSON',
    AccessKeyId: input.accessKeyId,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: input.nonce ?? randomUUID(),
    Timestamp: apiTimestamp(input.at ?? new Date()),
  };
  return { ...all, Signature: signatureOf(input.method, all, input.accessKeySecret) };
}

/** application/x-www-form-urlencoded with the same encoding the signature used. */
export function formEncode(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`)
    .join('&');
}
