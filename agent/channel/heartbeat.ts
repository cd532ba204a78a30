// The heartbeat (spec/luban-protocol.md §8): tells the server the agent is alive. It never triggers work.
import os from 'node:os';
import { LubanPath, buildHeartbeatQuery, clampHeartbeatInterval, isObj } from '../../protocol/index.js';
import { ensureError, sleep } from '../shared/index.js';
import { aborted } from './abort.js';
import type { Logger, Service } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';

export interface HeartbeatOptions {
  host: string;
  http: HttpClient;
  log: Logger;
  machineId: string;
  coldStart: boolean;
  osVersion: string;
  /** Fixed interval between beats; default: the server's `nextInterval` clamped to [55 s, 65 s] (§8). */
  intervalMs?: number;
  /** `Date.now()` when the agent process started, for `process_uptime`. */
  processStartedAt: number;
  /** Pause between the startup attempts (stock: 3 s). */
  startupRetryDelayMs?: number;
}

const REQUEST_TIMEOUT_MS = 5_000;
/** Stock `DefaultPingIntervalSeconds`: the interval until a server has answered. */
const DEFAULT_INTERVAL_MS = 60_000;
/** Stock `PingwithRetries(3)`. */
const STARTUP_ATTEMPTS = 3;

export class Heartbeat implements Service {
  readonly name = 'heartbeat';
  readonly #o: HeartbeatOptions;
  readonly #log: Logger;
  readonly #url: string;
  #successes = 0;
  #attempts = 0;
  #nextIntervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #stop = new AbortController();
  #inFlight: Promise<boolean> | undefined;

  constructor(o: HeartbeatOptions) {
    this.#o = o;
    this.#log = o.log.child({ svc: this.name });
    this.#url = `https://${o.host}${LubanPath.heartbeat}`;
    this.#nextIntervalMs = o.intervalMs ?? DEFAULT_INTERVAL_MS;
  }

  /** Successful heartbeats so far (the `index` parameter of the next one). */
  get successCount(): number {
    return this.#successes;
  }

  /** The delay before the next scheduled beat. */
  get nextIntervalMs(): number {
    return this.#nextIntervalMs;
  }

  /** Sends one heartbeat; true when the server answered with status < 400 and JSON. Never throws. */
  beatOnce(): Promise<boolean> {
    const p = this.#beat().finally(() => {
      if (this.#inFlight === p) {
        this.#inFlight = undefined;
      }
    });
    this.#inFlight = p;
    return p;
  }

  /** The startup beat (up to 3 attempts, §11 step 8), then a beat every interval. Resolves even if all fail. */
  async start(): Promise<void> {
    this.#stop = new AbortController();
    const signal = this.#stop.signal;
    for (let i = 0; i < STARTUP_ATTEMPTS && !signal.aborted; i++) {
      if (i > 0 && !(await sleep(this.#o.startupRetryDelayMs ?? 3_000, signal))) {
        break;
      }
      if (await this.beatOnce()) {
        break;
      }
    }
    if (this.#successes === 0 && !signal.aborted) {
      this.#log.warn('startup heartbeat failed', { host: this.#o.host, attempts: this.#attempts });
    }
    this.#schedule();
  }

  async stop(deadline: AbortSignal): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const inFlight = this.#inFlight;
    // The abort above cancels the request, so this is quick; the deadline bounds it anyway.
    if (inFlight) {
      await Promise.race([inFlight, aborted(deadline)]);
    }
  }

  #schedule(): void {
    if (this.#stop.signal.aborted) {
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.beatOnce().then(() => this.#schedule());
    }, this.#nextIntervalMs);
    this.#timer.unref();
  }

  async #beat(): Promise<boolean> {
    const now = Date.now();
    const first =
      this.#successes === 0
        ? { az: 'unknown', machineId: this.#o.machineId, coldStart: this.#o.coldStart, osVersion: this.#o.osVersion }
        : undefined;
    const query = buildHeartbeatQuery({
      uptime: Math.floor(os.uptime()) * 1000,
      timestamp: now,
      pid: process.pid,
      processUptime: now - this.#o.processStartedAt,
      index: this.#successes,
      seqNo: this.#attempts,
      first,
    });
    this.#attempts++;
    const fields = { host: this.#o.host, index: this.#successes, seqNo: this.#attempts - 1 };
    let status: number;
    let body: string;
    try {
      ({ status, body } = await this.#o.http.request({
        method: 'GET',
        url: `${this.#url}?${query}`,
        timeoutMs: REQUEST_TIMEOUT_MS,
        signal: this.#stop.signal,
      }));
    } catch (e) {
      if (!this.#stop.signal.aborted) {
        this.#log.warn('heartbeat failed', { ...fields, err: ensureError(e) });
      }
      return false;
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    if (status >= 400 || !isObj(json)) {
      const errMsg = isObj(json) && typeof json['errMsg'] === 'string' ? json['errMsg'] : undefined;
      this.#log.warn('heartbeat rejected', {
        ...fields,
        status,
        errMsg,
        body: errMsg ? undefined : body.slice(0, 200),
      });
      return false;
    }
    this.#successes++;
    this.#nextIntervalMs = this.#o.intervalMs ?? clampHeartbeatInterval(json['nextInterval']);
    this.#log.debug('heartbeat ok', { ...fields, nextIntervalMs: this.#nextIntervalMs });
    return true;
  }
}
