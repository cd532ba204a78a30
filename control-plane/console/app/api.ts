/// <reference lib="dom" />
// The console's OpenAPI client: signature v1 (HMAC-SHA1 through WebCrypto), like @alicloud/pop-core.
// The console has no back door: every page goes through these signed calls.
export interface AccessKey {
  id: string;
  secret: string;
}

export type Params = Record<string, string | number | boolean | undefined>;

/** An OpenAPI error response (`Code`, `Message`) or a network failure (`NetworkError`). */
export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

const encode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** `InstanceId.1=…&InstanceId.2=…`: the RPC flat form of a list parameter. */
export function listParam(name: string, values: readonly string[]): Params {
  return Object.fromEntries(values.map((v, i) => [`${name}.${i + 1}`, v]));
}

/** `version`: the API version of the action (default the ECS one; the parameter store's is 2019-06-01). */
export type Api = (action: string, params?: Params, version?: string) => Promise<Record<string, unknown>>;

export function createApi(key: AccessKey, regionId = 'cn-local'): Api {
  const hmacKey = crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(`${key.secret}&`),
    { name: 'HMAC', hash: 'SHA-1' },
    false,
    ['sign'],
  );
  return async (action, params = {}, version = '2014-05-26') => {
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== '') {
        all[k] = String(v);
      }
    }
    Object.assign(all, {
      Action: action,
      Version: version,
      RegionId: regionId,
      Format: 'JSON',
      AccessKeyId: key.id,
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      SignatureNonce: crypto.randomUUID(),
      Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    const canon = Object.keys(all)
      .sort()
      .map((k) => `${encode(k)}=${encode(all[k]!)}`)
      .join('&');
    const sig = await crypto.subtle.sign('HMAC', await hmacKey, new TextEncoder().encode(`POST&%2F&${encode(canon)}`));
    const signature = btoa(String.fromCharCode(...new Uint8Array(sig)));
    // POST with a form body: long scripts and file contents do not fit in a URL.
    let res: Response;
    try {
      res = await fetch('/', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `${canon}&Signature=${encode(signature)}`,
      });
    } catch (e) {
      throw new ApiError('NetworkError', e instanceof Error ? e.message : String(e));
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      throw new ApiError(String(body['Code'] ?? `HTTP${res.status}`), String(body['Message'] ?? res.statusText));
    }
    return body;
  };
}
