// Verification of Alibaba Cloud OpenAPI request signatures (spec/openapi.md, "Authentication"):
// signature v1 (HMAC-SHA1 over the sorted parameters, sent by @alicloud/pop-core) and
// ACS3-HMAC-SHA256 (Authorization header, sent by @alicloud/openapi-core based SDKs such as
// @alicloud/ecs20140526). Pure functions: secret lookup, nonce replay and HTTP mapping belong to the caller.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface IncomingApiRequest {
  method: string;
  /** URL path without query, as received. */
  path: string;
  /** The query string without '?', exactly as received (still percent-encoded). */
  rawQuery: string;
  /** Lower-cased header names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export type SignatureFailureCode =
  | 'MissingAccessKeyId'
  | 'InvalidAccessKeyId.NotFound'
  | 'IncompleteSignature'
  | 'SignatureDoesNotMatch'
  | 'InvalidTimeStamp.Expired'
  | 'InvalidTimeStamp.Format'
  | 'UnsupportedSignatureMethod';

export type SignatureCheck =
  | {
      ok: true;
      accessKeyId: string;
      style: 'v1' | 'acs3';
      nonce: string;
      timestampMs: number;
      params: Record<string, string>;
      action: string | undefined;
      version: string | undefined;
    }
  | { ok: false; code: SignatureFailureCode; message: string };

type SignatureFailure = Extract<SignatureCheck, { ok: false }>;

const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

/** v1 protocol parameters: signed, but not business parameters. */
const V1_PROTOCOL_PARAMS = new Set([
  'Signature',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureNonce',
  'Timestamp',
  'AccessKeyId',
  'Format',
  'Version',
  'Action',
]);

/**
 * Verifies a v1 or ACS3 signed request. The style is chosen by the Authorization header: pop-core also
 * sends x-acs-action/x-acs-version headers with v1, so those headers cannot tell the styles apart.
 */
export function verifyApiRequest(
  req: IncomingApiRequest,
  lookupSecret: (accessKeyId: string) => string | undefined,
  nowMs: number,
  maxSkewMs: number = DEFAULT_MAX_SKEW_MS,
): SignatureCheck {
  const authorization = headerValue(req.headers, 'authorization')?.trim() || undefined;
  if (authorization?.startsWith('ACS3-')) {
    return verifyAcs3(req, authorization, lookupSecret, nowMs, maxSkewMs);
  }
  return verifyV1(req, authorization, lookupSecret, nowMs, maxSkewMs);
}

// ---------------------------------------------------------------------------------------------
// Signature v1

function verifyV1(
  req: IncomingApiRequest,
  authorization: string | undefined,
  lookupSecret: (accessKeyId: string) => string | undefined,
  nowMs: number,
  maxSkewMs: number,
): SignatureCheck {
  const parsed = parseV1Params(req);
  if (!parsed.ok) {
    return parsed;
  }
  const all = parsed.params;

  const accessKeyId = all.get('AccessKeyId');
  // Some other Authorization scheme and no v1 parameters: say so rather than "missing key".
  if (!accessKeyId && !all.has('Signature') && authorization !== undefined) {
    return fail('UnsupportedSignatureMethod', `Authorization scheme ${authorization.split(' ')[0]} is not supported.`);
  }
  if (!accessKeyId) {
    return fail('MissingAccessKeyId', 'AccessKeyId is mandatory for this action.');
  }
  const signature = all.get('Signature');
  const nonce = all.get('SignatureNonce');
  const timestamp = all.get('Timestamp');
  if (!signature) {
    return fail('IncompleteSignature', 'The request is missing the Signature parameter.');
  }
  if (!nonce) {
    return fail('IncompleteSignature', 'The request is missing the SignatureNonce parameter.');
  }
  if (!timestamp) {
    return fail('IncompleteSignature', 'The request is missing the Timestamp parameter.');
  }

  const method = all.get('SignatureMethod');
  if (method !== 'HMAC-SHA1') {
    return fail('UnsupportedSignatureMethod', `SignatureMethod ${method ?? '(none)'} is not supported; use HMAC-SHA1.`);
  }
  const signatureVersion = all.get('SignatureVersion');
  if (signatureVersion !== undefined && signatureVersion !== '1.0') {
    return fail('UnsupportedSignatureMethod', `SignatureVersion ${signatureVersion} is not supported; use 1.0.`);
  }

  const timestampMs = parseUtcTimestamp(timestamp);
  if (timestampMs === undefined) {
    return fail('InvalidTimeStamp.Format', `Timestamp ${timestamp} is not ISO 8601 UTC (yyyy-MM-ddTHH:mm:ssZ).`);
  }

  const secret = lookupSecret(accessKeyId);
  if (secret === undefined) {
    return unknownKey(accessKeyId);
  }

  const stringToSign = v1StringToSign(
    req.method.toUpperCase(),
    [...all].filter(([key]) => key !== 'Signature'),
  );
  // The key is the secret plus '&', as in both SDKs and the documented example.
  const expected = createHmac('sha1', `${secret}&`).update(stringToSign, 'utf8').digest('base64');
  if (!constantTimeEqual(expected, signature)) {
    return mismatch(`Server StringToSign: ${stringToSign}`);
  }

  const skew = checkSkew(timestampMs, nowMs, maxSkewMs);
  if (skew) {
    return skew;
  }

  return {
    ok: true,
    accessKeyId,
    style: 'v1',
    nonce,
    timestampMs,
    params: businessParams(all),
    action: all.get('Action'),
    version: all.get('Version'),
  };
}

/** Query parameters, plus the form body (pop-core sends every parameter in the body for POST). */
function parseV1Params(req: IncomingApiRequest): { ok: true; params: Map<string, string> } | SignatureFailure {
  const sources = [req.rawQuery];
  if (isFormBody(req)) {
    sources.push(req.body.toString('utf8'));
  }
  return parseFormEncoded(sources);
}

/** METHOD&%2F&encode(canonical query): the parameters sorted by key, keys and values encoded. */
function v1StringToSign(method: string, signed: [string, string][]): string {
  const canonicalQuery = sortByKey(signed)
    .map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`)
    .join('&');
  return `${method}&${percentEncode('/')}&${percentEncode(canonicalQuery)}`;
}

// ---------------------------------------------------------------------------------------------
// ACS3-HMAC-SHA256

interface Acs3Authorization {
  algorithm: string;
  credential: string | undefined;
  signedHeaders: string[] | undefined;
  signature: string | undefined;
}

/** Headers the result depends on: they must be covered by the signature, or they could be swapped. */
const ACS3_REQUIRED_SIGNED_HEADERS = ['x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256'];
const ACS3_SIGNED_IF_PRESENT = ['x-acs-action', 'x-acs-version'];

function verifyAcs3(
  req: IncomingApiRequest,
  authorization: string,
  lookupSecret: (accessKeyId: string) => string | undefined,
  nowMs: number,
  maxSkewMs: number,
): SignatureCheck {
  const auth = parseAcs3Authorization(authorization);
  if (auth.algorithm !== ACS3_ALGORITHM) {
    return fail(
      'UnsupportedSignatureMethod',
      `Authorization scheme ${auth.algorithm} is not supported; use ${ACS3_ALGORITHM}.`,
    );
  }
  if (!auth.credential) {
    return fail('MissingAccessKeyId', 'The Authorization header has no Credential.');
  }
  if (!auth.signedHeaders || !auth.signature) {
    return fail('IncompleteSignature', 'The Authorization header needs Credential, SignedHeaders and Signature.');
  }
  const unsigned = requiredUnsignedHeaders(req, auth.signedHeaders);
  if (unsigned.length > 0) {
    return fail('IncompleteSignature', `Headers must be signed: ${unsigned.join(', ')}.`);
  }

  const date = headerValue(req.headers, 'x-acs-date');
  const nonce = headerValue(req.headers, 'x-acs-signature-nonce');
  const contentSha256 = headerValue(req.headers, 'x-acs-content-sha256');
  if (!date || !nonce || !contentSha256) {
    return fail('IncompleteSignature', 'x-acs-date, x-acs-signature-nonce and x-acs-content-sha256 are required.');
  }
  const timestampMs = parseUtcTimestamp(date);
  if (timestampMs === undefined) {
    return fail('InvalidTimeStamp.Format', `x-acs-date ${date} is not ISO 8601 UTC (yyyy-MM-ddTHH:mm:ssZ).`);
  }

  const parsed = parseFormEncoded([req.rawQuery]);
  if (!parsed.ok) {
    return parsed;
  }

  const secret = lookupSecret(auth.credential);
  if (secret === undefined) {
    return unknownKey(auth.credential);
  }

  // The payload hash in the canonical request is ours, so a body swap fails even if the header was kept.
  const payloadHash = sha256Hex(req.body);
  if (contentSha256.toLowerCase() !== payloadHash) {
    return mismatch('x-acs-content-sha256 does not match the SHA-256 of the request body.');
  }
  const canonicalRequest = acs3CanonicalRequest(req, parsed.params, auth.signedHeaders, payloadHash);
  const stringToSign = `${ACS3_ALGORITHM}\n${sha256Hex(Buffer.from(canonicalRequest, 'utf8'))}`;
  const expected = createHmac('sha256', secret).update(stringToSign, 'utf8').digest('hex');
  if (!constantTimeEqual(expected, auth.signature.toLowerCase())) {
    return mismatch(`The canonical request is ${JSON.stringify(canonicalRequest)}`);
  }

  const skew = checkSkew(timestampMs, nowMs, maxSkewMs);
  if (skew) {
    return skew;
  }

  return {
    ok: true,
    accessKeyId: auth.credential,
    style: 'acs3',
    nonce,
    timestampMs,
    params: businessParams(parsed.params),
    action: headerValue(req.headers, 'x-acs-action'),
    version: headerValue(req.headers, 'x-acs-version'),
  };
}

/** `ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>`. */
function parseAcs3Authorization(value: string): Acs3Authorization {
  const space = value.indexOf(' ');
  const algorithm = space < 0 ? value : value.slice(0, space);
  const fields = new Map<string, string>();
  for (const part of space < 0 ? [] : value.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) {
      fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }
  const signedHeaders = fields.get('SignedHeaders');
  return {
    algorithm,
    credential: fields.get('Credential'),
    signedHeaders: signedHeaders ? signedHeaders.split(';').map((h) => h.trim().toLowerCase()) : undefined,
    signature: fields.get('Signature'),
  };
}

function requiredUnsignedHeaders(req: IncomingApiRequest, signedHeaders: string[]): string[] {
  const present = ACS3_SIGNED_IF_PRESENT.filter((name) => headerValue(req.headers, name) !== undefined);
  return [...ACS3_REQUIRED_SIGNED_HEADERS, ...present].filter((name) => !signedHeaders.includes(name));
}

/**
 * Mirrors getAuthorization of @alicloud/openapi-core (dist/utils.js): keys sorted and left unencoded,
 * values RFC 3986 encoded; headers in SignedHeaders order as `name:trimmed value\n`.
 */
function acs3CanonicalRequest(
  req: IncomingApiRequest,
  query: Map<string, string>,
  signedHeaders: string[],
  payloadHash: string,
): string {
  const canonicalUri = req.path.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const canonicalQuery = sortByKey([...query])
    .map(([key, value]) => `${key}=${percentEncode(value)}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${canonicalHeaderValue(ownHeader(req.headers, name))}\n`)
    .join('');
  return [
    req.method.toUpperCase(),
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

/** The SDK signs repeated headers as their trimmed values, sorted and joined with ','. */
function canonicalHeaderValue(value: string | string[] | undefined): string {
  if (value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value.trim();
  }
  return value
    .map((v) => v.trim())
    .sort()
    .join(',');
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

function fail(code: SignatureFailureCode, message: string): SignatureFailure {
  return { ok: false, code, message };
}

function mismatch(detail: string): SignatureFailure {
  return fail('SignatureDoesNotMatch', `The request signature does not conform to Aliyun standards. ${detail}`);
}

function unknownKey(accessKeyId: string): SignatureFailure {
  return fail('InvalidAccessKeyId.NotFound', `Specified access key ${accessKeyId} is not found.`);
}

function checkSkew(timestampMs: number, nowMs: number, maxSkewMs: number): SignatureFailure | undefined {
  if (Math.abs(nowMs - timestampMs) <= maxSkewMs) {
    return undefined;
  }
  return fail(
    'InvalidTimeStamp.Expired',
    `Timestamp ${new Date(timestampMs).toISOString()} is more than ${maxSkewMs / 1000} s away from the server time.`,
  );
}

/**
 * Parses application/x-www-form-urlencoded sources into one map. A repeated key is refused: the
 * signature covers one value per key, so a second one would be an unsigned (or ambiguous) parameter.
 */
function parseFormEncoded(sources: string[]): { ok: true; params: Map<string, string> } | SignatureFailure {
  const params = new Map<string, string>();
  for (const source of sources) {
    for (const [key, value] of new URLSearchParams(source)) {
      if (params.has(key)) {
        return mismatch(`Parameter ${key} appears more than once.`);
      }
      params.set(key, value);
    }
  }
  return { ok: true, params };
}

function isFormBody(req: IncomingApiRequest): boolean {
  const contentType = headerValue(req.headers, 'content-type') ?? '';
  return req.body.length > 0 && contentType.toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/** A null-prototype record, so parameter names such as `__proto__` stay plain data. */
function businessParams(all: Map<string, string>): Record<string, string> {
  const params = Object.create(null) as Record<string, string>;
  for (const [key, value] of all) {
    if (!V1_PROTOCOL_PARAMS.has(key)) {
      params[key] = value;
    }
  }
  return params;
}

/** RFC 3986 encoding used by both styles: only A-Z a-z 0-9 - _ . ~ stay literal, space is %20. */
function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Both SDKs sort with Array.prototype.sort on the unencoded keys (UTF-16 code unit order). */
function sortByKey(entries: [string, string][]): [string, string][] {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const UTC_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$/;

/** `yyyy-MM-ddTHH:mm:ss[.SSS]Z` to epoch ms; undefined unless every field is in range. */
function parseUtcTimestamp(value: string): number | undefined {
  const m = UTC_TIMESTAMP.exec(value);
  if (!m) {
    return undefined;
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number((m[7] ?? '').padEnd(3, '0'));
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  // Date.UTC rolls over (Feb 30 -> Mar 1); a round trip rejects such dates.
  const roundTrips =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return roundTrips ? date.getTime() : undefined;
}

/** Own properties only: SignedHeaders is client input and may name `constructor` or `__proto__`. */
function ownHeader(headers: IncomingApiRequest['headers'], name: string): string | string[] | undefined {
  return Object.hasOwn(headers, name) ? headers[name] : undefined;
}

function headerValue(headers: IncomingApiRequest['headers'], name: string): string | undefined {
  const value = ownHeader(headers, name);
  return Array.isArray(value) ? value.join(',') : value;
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function constantTimeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
