// The OpenAPI client: flat RPC parameters, signature v1, one HTTPS POST per call (the form body
// that @alicloud/pop-core sends), the API's {Code, Message} turned into a CliError.
// node:https rather than fetch: Node 20's fetch cannot be given a CA, and the control plane's
// certificate is usually signed by its own CA (--ca-file / ASSIST_CA_FILE).
import http from 'node:http';
import https from 'node:https';
import { CliError } from './errors.js';
import type { Credentials } from './credentials.js';
import { formEncode, signRequest } from './signer.js';

export type ApiParam =
  | string
  | number
  | boolean
  | undefined
  | readonly string[]
  | readonly { key: string; value?: string | undefined }[]
  | Readonly<Record<string, string | number | boolean>>;

export type ApiParams = Readonly<Record<string, ApiParam>>;

/** RPC flattening: lists as `Name.N`, tags as `Name.N.Key`/`Name.N.Value`, maps as JSON. */
export function flattenParams(params: ApiParams): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) {
      continue;
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      flat[name] = String(value);
    } else if (Array.isArray(value)) {
      value.forEach((item: string | { key: string; value?: string | undefined }, i) => {
        if (typeof item === 'string') {
          flat[`${name}.${i + 1}`] = item;
        } else {
          flat[`${name}.${i + 1}.Key`] = item.key;
          if (item.value !== undefined) {
            flat[`${name}.${i + 1}.Value`] = item.value;
          }
        }
      });
    } else {
      flat[name] = JSON.stringify(value);
    }
  }
  return flat;
}

export interface ApiClientOptions {
  /** PEM of the CA to trust besides the system ones. */
  ca?: string | undefined;
  timeoutMs?: number;
  now?: () => Date;
}

/** Describe* calls are read-only: a dropped connection is retried a few times. */
const READ_ONLY = /^Describe/;
const RETRIES = 3;

export class ApiClient {
  readonly #creds: Credentials;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;
  readonly #now: () => Date;

  constructor(creds: Credentials, o: ApiClientOptions = {}) {
    this.#creds = creds;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.#now = o.now ?? (() => new Date());
    this.#agent = creds.endpoint.startsWith('https:')
      ? new https.Agent({ keepAlive: true, ...(o.ca ? { ca: o.ca } : {}) })
      : new http.Agent({ keepAlive: true });
  }

  get endpoint(): string {
    return this.#creds.endpoint;
  }

  get regionId(): string {
    return this.#creds.regionId;
  }

  /**
   * Calls one action; resolves to the response body, or rejects with a CliError (API or NETWORK).
   * `version`: the API version of the action (default the ECS one).
   */
  async call<T = Record<string, unknown>>(action: string, params: ApiParams = {}, version?: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.#once(action, params, version)) as T;
      } catch (e) {
        const retry = e instanceof CliError && e.retryable && READ_ONLY.test(action) && attempt < RETRIES;
        if (!retry) {
          throw e;
        }
        await new Promise((r) => setTimeout(r, 300 * attempt));
      }
    }
  }

  /** Lets the process exit: idle keep-alive sockets would hold it open. */
  close(): void {
    this.#agent.destroy();
  }

  async #once(action: string, params: ApiParams, version: string | undefined): Promise<unknown> {
    const signed = signRequest({
      method: 'POST',
      action,
      ...(version !== undefined ? { version } : {}),
      accessKeyId: this.#creds.accessKeyId,
      accessKeySecret: this.#creds.accessKeySecret,
      params: { RegionId: this.#creds.regionId, ...flattenParams(params) },
      at: this.#now(),
    });
    const { status, body } = await this.#post(formEncode(signed));
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new CliError(
        'NETWORK',
        `${this.#creds.endpoint} answered ${action} with HTTP ${status} and a body that is not JSON: ${body.slice(0, 200)}`,
        { retryable: status >= 500 },
      );
    }
    const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
    if (status >= 400 || typeof o['Code'] === 'string') {
      const apiCode = typeof o['Code'] === 'string' ? o['Code'] : `HTTP${status}`;
      throw new CliError('API', typeof o['Message'] === 'string' ? o['Message'] : `HTTP ${status}`, {
        api: {
          apiCode,
          httpStatus: status,
          ...(typeof o['RequestId'] === 'string' ? { requestId: o['RequestId'] } : {}),
        },
        retryable: apiCode === 'Throttling' || apiCode === 'ServiceUnavailable',
      });
    }
    return o;
  }

  #post(body: string): Promise<{ status: number; body: string }> {
    const url = new URL('/', this.#creds.endpoint);
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        url,
        {
          method: 'POST',
          agent: this.#agent,
          timeout: this.#timeoutMs,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            accept: 'application/json',
            'user-agent': 'assist-cli',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => reject(this.#networkError(e)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.#timeoutMs / 1000} s`)));
      req.on('error', (e) => reject(this.#networkError(e)));
      req.end(body);
    });
  }

  #networkError(e: Error): CliError {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
    const hint = tls
      ? "; trust the control plane's CA with --ca-file or ASSIST_CA_FILE (quickstart prints its path)"
      : '';
    return new CliError('NETWORK', `cannot reach ${this.#creds.endpoint}: ${e.message}${hint}`, {
      cause: e,
      retryable: !tls,
    });
  }
}
