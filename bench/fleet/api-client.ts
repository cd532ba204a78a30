// The operator API as a user's script would call it: @alicloud/pop-core (signature v1), every call
// a POST whose parameters travel in the form body (pop-core's POST mode; the control plane reads a
// form body the same as the query), over one keep-alive connection pool that trusts the server's CA.
// Each call's wall time is recorded, so the benchmark can report API latency while it runs.
import https from 'node:https';
import RPCClient from '@alicloud/pop-core';

// pop-core is CommonJS with a default export; under ESM interop it may sit one level down.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const PopCore = ((RPCClient as any).default ?? RPCClient) as any;

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
}

/** A failed call: the API's error code, or the HTTP status when the answer was not an API answer. */
export class ApiCallError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  constructor(code: string, status: number | undefined, message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export class ApiClient {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly #client: any;
  readonly #agent: https.Agent;
  constructor(hostPort: string, key: AccessKey, caPem: string) {
    this.#agent = new https.Agent({ ca: caPem, keepAlive: true, maxSockets: 4 });
    this.#client = new PopCore({
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
      endpoint: `https://${hostPort}`,
      apiVersion: '2014-05-26',
      opts: { agent: this.#agent },
    });
  }

  /** One signed POST; resolves with the JSON answer and the call's wall time in ms. */
  async call(
    action: string,
    params: Record<string, unknown>,
    timeoutMs = 60_000,
  ): Promise<{ body: Record<string, unknown>; ms: number }> {
    const t0 = performance.now();
    let body: Record<string, unknown>;
    try {
      body = (await this.#client.request(
        action,
        { RegionId: 'cn-local', ...params },
        { method: 'POST', timeout: timeoutMs },
      )) as Record<string, unknown>;
    } catch (e) {
      const err = e as { code?: string; message?: string; data?: { Code?: string } };
      throw new ApiCallError(err.data?.Code ?? err.code ?? 'Error', undefined, err.message ?? String(e));
    }
    // An answer from the HTTP layer rather than the API (e.g. fastify's 413 for a body over its limit).
    if (typeof body['statusCode'] === 'number' && body['RequestId'] === undefined) {
      throw new ApiCallError(String(body['code'] ?? 'HttpError'), body['statusCode'], String(body['message'] ?? ''));
    }
    return { body, ms: performance.now() - t0 };
  }

  close(): void {
    this.#agent.destroy();
  }
}
