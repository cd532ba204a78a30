// The notify WebSocket: the server kicks the agent through it (spec/luban-protocol.md §4.1–4.3).
import type { SecureContext } from 'node:tls';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import { LubanPath, kickReply, parseKick } from '../../protocol/index.js';
import type { Kick } from '../../protocol/index.js';
import { backoffDelay, ensureError } from '../shared/index.js';
import type { Logger, Service } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';

export interface NotifyChannelOptions {
  host: string;
  http: HttpClient;
  log: Logger;
  /** Decide the reply for a parsed kick; called synchronously, must not throw. */
  onKick: (kick: Kick, raw: string) => 'accept' | 'reject';
  /**
   * Called after every successful (re)connect: the agent fetches then, because kicks sent while it
   * was away are lost (our extension; the stock agent does not).
   */
  onConnected?: () => void;
  /** Keepalive ping period (stock: 60 s, payload `keepalive`). */
  pingIntervalMs?: number;
  /** Reconnect backoff, jittered (default 1 s doubling to 60 s). */
  reconnect?: { initialMs: number; maxMs: number };
  /** A connection that stayed up longer than this resets the reconnect backoff (default 30 s). */
  stableAfterMs?: number;
}

const HANDSHAKE_TIMEOUT_MS = 45_000;
const DEFAULT_PING_INTERVAL_MS = 60_000;
const DEFAULT_RECONNECT = { initialMs: 1_000, maxMs: 60_000 };
const STABLE_CONNECTION_MS = 30_000;
const PING_PAYLOAD = 'keepalive';
const MAX_UNANSWERED_PINGS = 2;

/**
 * Keeps one WebSocket to `wss://<host>/luban/notify_server` open for as long as the service runs,
 * answering each message with exactly one text frame (`accept:`/`reject:`/`unknow:` + the message).
 *
 * Differences from the stock agent, which falls back to channel switching (§4.1) and a 60 s dial
 * cool-down: this reconnects on its own with jittered exponential backoff, and treats two pings in a row
 * without a pong as a dead connection (a server MUST answer pings, §4.2).
 */
export class NotifyChannel implements Service {
  readonly name = 'notify-channel';
  readonly #o: NotifyChannelOptions;
  readonly #url: string;
  readonly #log: Logger;
  #ws: WebSocket | undefined;
  #stopped = false;
  /** Consecutive reconnects without a stable connection in between. */
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;

  constructor(o: NotifyChannelOptions) {
    this.#o = o;
    this.#url = `wss://${o.host}${LubanPath.notifyServer}`;
    this.#log = o.log.child({ svc: this.name });
  }

  get isConnected(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  /** Resolves once the first connect attempt has finished (opened or failed); later ones run in the background. */
  start(): Promise<void> {
    this.#stopped = false;
    return this.#connect();
  }

  async stop(deadline: AbortSignal): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#stopPing();
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) {
      return;
    }
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    try {
      ws.close(1000);
    } catch {
      ws.terminate();
    }
    // The close handshake needs the server's answer; give up on it when the deadline passes.
    const onDeadline = () => ws.terminate();
    if (deadline.aborted) {
      onDeadline();
    } else {
      deadline.addEventListener('abort', onDeadline, { once: true });
    }
    await closed;
    deadline.removeEventListener('abort', onDeadline);
  }

  #connect(): Promise<void> {
    return new Promise<void>((settle) => {
      if (this.#stopped) {
        return settle();
      }
      let ws: WebSocket;
      try {
        // Headers are computed per connect: hybrid signatures are valid for one request only (§7.4).
        // ws hands its options to tls.connect: the client's one TLS context (its types omit the option).
        const options: WebSocket.ClientOptions & { secureContext: SecureContext } = {
          headers: this.#o.http.headers(),
          secureContext: this.#o.http.secureContext(),
          handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
          // ALIYUN_ASSIST_PROXY: the WebSocket goes through the proxy's CONNECT tunnel too.
          ...(this.#o.http.webSocketAgent() ? { agent: this.#o.http.webSocketAgent() } : {}),
        };
        ws = new WebSocket(this.#url, options);
      } catch (e) {
        this.#scheduleReconnect({ err: ensureError(e) }, 0);
        return settle();
      }
      this.#ws = ws;
      let openedAt = 0;
      let lastError: Error | undefined;
      let finished = false;
      const finish = (fields: Record<string, unknown>) => {
        if (finished) {
          return;
        }
        finished = true;
        if (this.#ws === ws) {
          this.#stopPing();
          this.#ws = undefined;
        }
        settle();
        const upMs = openedAt > 0 ? Date.now() - openedAt : 0;
        if (!this.#stopped) {
          this.#scheduleReconnect({ ...fields, upMs, err: lastError }, upMs);
        }
      };
      ws.on('open', () => {
        openedAt = Date.now();
        settle();
        this.#guard('open', () => {
          this.#log.info('notify channel connected', { host: this.#o.host, attempt: this.#attempt });
          this.#startPing(ws);
          this.#o.onConnected?.();
        });
      });
      ws.on('message', (data: RawData) => this.#guard('message', () => this.#onMessage(ws, data)));
      // 'close' follows every 'error' in ws v8, but a socket that errs and never closes must not leave us stuck.
      ws.on('error', (e: Error) => {
        lastError = e;
        if (ws.readyState === WebSocket.CLOSED) {
          this.#guard('error', () => finish({}));
        }
      });
      ws.on('close', (code: number, reason: Buffer) =>
        this.#guard('close', () => finish({ code, reason: reason.toString('utf8') })),
      );
    });
  }

  #scheduleReconnect(fields: Record<string, unknown>, upMs: number): void {
    if (this.#stopped || this.#reconnectTimer) {
      return;
    }
    // A connection that stayed up was healthy: the next reconnect starts from the first step again.
    if (upMs > (this.#o.stableAfterMs ?? STABLE_CONNECTION_MS)) {
      this.#attempt = 0;
    }
    const delayMs = backoffDelay(this.#attempt, { ...DEFAULT_RECONNECT, ...this.#o.reconnect });
    this.#attempt++;
    this.#log.warn('notify channel reconnecting', { host: this.#o.host, attempt: this.#attempt, delayMs, ...fields });
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#connect();
    }, delayMs);
  }

  #onMessage(ws: WebSocket, data: RawData): void {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data).toString('utf8');
    const kick = parseKick(text);
    let reply: 'accept' | 'reject' | 'unknow' = 'unknow';
    if (kick) {
      try {
        reply = this.#o.onKick(kick, text);
      } catch (e) {
        // Nothing was scheduled: `reject` tells the server to retry later.
        this.#log.error('kick handler threw', { kick: text, err: ensureError(e) });
        reply = 'reject';
      }
    }
    this.#log.debug('kick received', { kick: text, reply });
    ws.send(kickReply(reply, text), (err) => {
      if (err) {
        this.#log.warn('kick reply failed', { kick: text, err });
      }
    });
  }

  #startPing(ws: WebSocket): void {
    this.#stopPing();
    // Pings sent since the last pong. Two unanswered pings in a row mean the connection is dead (the stock
    // agent would only notice when TCP gives up, which can take many minutes).
    let unanswered = 0;
    ws.on('pong', () => {
      unanswered = 0;
    });
    const ping = () => {
      if (ws.readyState !== WebSocket.OPEN) {
        return;
      }
      if (unanswered >= MAX_UNANSWERED_PINGS) {
        this.#log.warn('notify channel ping unanswered', { host: this.#o.host, unanswered });
        ws.terminate();
        return;
      }
      unanswered++;
      ws.ping(PING_PAYLOAD, undefined, (err) => {
        if (!err) {
          return;
        }
        // Stock: a ping write error ends only the ping loop; the read side notices a broken socket.
        this.#log.warn('notify channel ping failed', { host: this.#o.host, err });
        if (this.#ws === ws) {
          this.#stopPing();
        }
      });
    };
    this.#guard('ping', ping);
    this.#pingTimer = setInterval(() => this.#guard('ping', ping), this.#o.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS);
    this.#pingTimer.unref();
  }

  #stopPing(): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  /** Event handlers never throw: a bug in one is logged, and the channel keeps running. */
  #guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#log.error('notify channel handler failed', { what, err: ensureError(e) });
    }
  }
}
