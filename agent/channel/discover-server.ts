// Finding the control plane (spec/luban-protocol.md §2.2–2.4, §11 step 2).
import { LubanPath } from '../../protocol/index.js';
import { backoffDelay, ensureError, sleep } from '../shared/index.js';
import type { Logger } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { aborted } from './abort.js';

export interface DiscoverServerOptions {
  /** `ALIYUN_ASSIST_SERVER_HOST`: a host or `host:port`, used verbatim. */
  serverHost: string | undefined;
  http: HttpClient;
  log: Logger;
  /** Aborting ends the search; the result is then undefined. */
  signal: AbortSignal;
  /** First retry delay; doubles after each failed probe (stock: 3 s). */
  initialDelayMs?: number;
  /** Retry delay cap (stock: 180 s). */
  maxDelayMs?: number;
}

const PROBE_TIMEOUT_MS = 5_000;

/**
 * Returns the server host once `GET https://<host>/luban/api/connection_detect` answers exactly `ok`,
 * retrying with a doubling delay; undefined when the signal aborts first.
 *
 * Only the self-hosted provider is implemented. The stock agent would otherwise try the external
 * `apiserver-provider` executable, the hybrid `<region>-axt.aliyuncs.com` domains and the ECS metadata
 * service / well-known regions (§2.3 a–c); those are out of scope here, so without a host the agent
 * cannot find a server and waits (doing nothing) until it is stopped.
 */
export async function discoverServer(o: DiscoverServerOptions): Promise<string | undefined> {
  const { serverHost, http, log, signal } = o;
  if (serverHost === undefined || serverHost === '') {
    // ECS metadata / hybrid region / external-provider discovery is not implemented (out of scope).
    log.error('no server host: set ALIYUN_ASSIST_SERVER_HOST');
    await aborted(signal);
    return undefined;
  }
  const url = `https://${serverHost}${LubanPath.connectionDetect}`;
  const backoff = { initialMs: o.initialDelayMs ?? 3_000, maxMs: o.maxDelayMs ?? 180_000, jitter: false };
  for (let attempt = 0; !signal.aborted; attempt++) {
    const failure = await probe(http, url, signal);
    if (failure === undefined) {
      log.info('server reachable', { host: serverHost, attempts: attempt + 1 });
      return serverHost;
    }
    if (signal.aborted) {
      break;
    }
    const delayMs = backoffDelay(attempt, backoff);
    log.warn('server probe failed, retrying', { host: serverHost, attempt: attempt + 1, delayMs, ...failure });
    if (!(await sleep(delayMs, signal))) {
      break;
    }
  }
  return undefined;
}

/** Undefined on success, else what went wrong (as log fields). */
async function probe(http: HttpClient, url: string, signal: AbortSignal): Promise<Record<string, unknown> | undefined> {
  try {
    // Discovery probes carry only the User-Agent, never identity headers (§1.1).
    const res = await http.request({ method: 'GET', url, withIdentity: false, timeoutMs: PROBE_TIMEOUT_MS, signal });
    if (res.body === 'ok') {
      return undefined;
    }
    return { status: res.status, body: res.body.slice(0, 100) };
  } catch (e) {
    return { err: ensureError(e) };
  }
}
