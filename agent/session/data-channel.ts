// The data channel of one session: `wss://<server>/luban/session/backend?channelId=<id>`
// (spec/luban-protocol.md §6), hybrid-signed like every agent WebSocket (§7.4), through
// ALIYUN_ASSIST_PROXY when set. Keepalive pings with payload `keepalive` at once and every 60 s;
// a lost connection is reopened with the stock backoff (100 ms doubling to 2000 ms, 10 attempts).
import type { SecureContext } from 'node:tls';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import { sessionBackendPath } from '../../protocol/index.js';
import { backoffDelay, ensureError, type Logger } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';

export interface ReconnectPolicy {
  initialMs: number;
  maxMs: number;
  attempts: number;
}

export const STOCK_RECONNECT: ReconnectPolicy = { initialMs: 100, maxMs: 2000, attempts: 10 };
export const STOCK_PING_INTERVAL_MS = 60_000;
const HANDSHAKE_TIMEOUT_MS = 45_000;
const PING_PAYLOAD = 'keepalive';
/** Above this many unsent bytes a send waits until the socket has taken its data. */
const SEND_BUFFER_LIMIT = 4 * 1024 * 1024;
/** How long a closing channel may take to deliver what is queued and finish the close handshake. */
const CLOSE_GRACE_MS = 10_000;

export interface DataChannelOptions {
  host: string;
  channelId: string;
  http: HttpClient;
  log: Logger;
  /** Every message received (text or binary), as bytes. */
  onMessage: (data: Buffer) => void;
  /** The connection was lost and could not be reopened: the session ends with Timeout. */
  onLost: () => void;
  reconnect?: ReconnectPolicy;
  pingIntervalMs?: number;
}

const zeroMask = (mask: Buffer): void => {
  mask.fill(0);
};

export class DataChannel {
  readonly #o: DataChannelOptions;
  readonly #url: string;
  readonly #log: Logger;
  #ws: WebSocket | undefined;
  #closed = false;
  #reconnecting: Promise<boolean> | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  reconnects = 0;

  constructor(o: DataChannelOptions) {
    this.#o = o;
    this.#url = `wss://${o.host}${sessionBackendPath(o.channelId)}`;
    this.#log = o.log;
  }

  /** The first connection; rejects with the reason when it cannot be opened (Open_channel_failed). */
  async open(): Promise<void> {
    this.#attach(await this.#connect());
  }

  /**
   * Sends one binary frame. While the channel is being reopened the send waits for it; the promise
   * rejects when the channel is gone for good. It also waits while much is still unsent.
   */
  async send(frame: Buffer): Promise<void> {
    let ws = this.#ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) {
      if (this.#reconnecting === undefined || !(await this.#reconnecting) || this.#ws === undefined) {
        throw new Error('session data channel closed');
      }
      ws = this.#ws;
    }
    const sent = new Promise<void>((resolve, reject) =>
      ws.send(frame, { binary: true }, (err) => (err ? reject(err) : resolve())),
    );
    if (ws.bufferedAmount > SEND_BUFFER_LIMIT) {
      await sent;
    } else {
      sent.catch(() => {}); // a broken socket shows up as a close, which reconnects
    }
  }

  /** Pauses reading inbound frames (the target cannot take more yet). */
  pause(): void {
    this.#ws?.pause();
  }

  resume(): void {
    this.#ws?.resume();
  }

  /**
   * Closes with 1000 after what is queued has been sent; resolves once the server answered the
   * close, or after `graceMs` (then the socket is dropped).
   */
  close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.#closed = true;
    this.#stopPing();
    const ws = this.#ws;
    this.#ws = undefined;
    if (!ws || ws.readyState === WebSocket.CLOSED) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => ws.terminate(), graceMs);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        ws.close(1000);
      } catch {
        ws.terminate();
      }
    });
  }

  #connect(): Promise<WebSocket> {
    return new Promise<WebSocket>((resolve, reject) => {
      // Fresh headers per connect: a hybrid signature is good for one request (§7.4).
      const options: WebSocket.ClientOptions & { secureContext: SecureContext } = {
        headers: this.#o.http.headers(),
        secureContext: this.#o.http.secureContext(),
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        perMessageDeflate: false,
        // A zero masking key: ws then skips the masking pass over every payload (a copy of each
        // frame at tens of MB/s). Masking guards plaintext HTTP intermediaries against cache
        // poisoning by browser scripts; this channel is always TLS from the agent.
        generateMask: zeroMask,
        ...(this.#o.http.webSocketAgent() ? { agent: this.#o.http.webSocketAgent() } : {}),
      };
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.#url, options);
      } catch (e) {
        return reject(ensureError(e));
      }
      const onError = (e: Error) => {
        ws.removeListener('open', onOpen);
        ws.terminate();
        reject(e);
      };
      const onUnexpected = (_req: unknown, res: { statusCode?: number }) => {
        ws.removeListener('open', onOpen);
        ws.terminate();
        reject(new Error(`session channel handshake answered ${res.statusCode ?? 0}`));
      };
      const onOpen = () => {
        ws.removeListener('error', onError);
        ws.removeListener('unexpected-response', onUnexpected);
        resolve(ws);
      };
      ws.once('open', onOpen);
      ws.once('error', onError);
      ws.once('unexpected-response', onUnexpected);
    });
  }

  #attach(ws: WebSocket): void {
    if (this.#closed) {
      ws.terminate();
      return;
    }
    this.#ws = ws;
    ws.on('message', (data: RawData) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      try {
        this.#o.onMessage(buf);
      } catch (e) {
        this.#log.error('session frame handler failed', { err: ensureError(e) });
      }
    });
    ws.on('error', (e: Error) => this.#log.warn('session channel error', { err: e }));
    ws.on('close', (code: number) => {
      if (this.#ws !== ws) {
        return;
      }
      this.#ws = undefined;
      this.#stopPing();
      if (!this.#closed) {
        this.#log.warn('session channel lost', { code });
        this.#reconnecting = this.#reopen();
      }
    });
    this.#startPing(ws);
  }

  async #reopen(): Promise<boolean> {
    const policy = this.#o.reconnect ?? STOCK_RECONNECT;
    for (let attempt = 0; attempt < policy.attempts && !this.#closed; attempt++) {
      const delayMs = backoffDelay(attempt, { initialMs: policy.initialMs, maxMs: policy.maxMs, jitter: false });
      await new Promise((r) => setTimeout(r, delayMs));
      if (this.#closed) {
        break;
      }
      try {
        const ws = await this.#connect();
        this.reconnects++;
        this.#log.info('session channel reopened', { attempt: attempt + 1 });
        this.#attach(ws);
        return !this.#closed;
      } catch (e) {
        this.#log.warn('session channel reopen failed', { attempt: attempt + 1, delayMs, err: ensureError(e) });
      }
    }
    if (!this.#closed) {
      this.#o.onLost();
    }
    return false;
  }

  #startPing(ws: WebSocket): void {
    this.#stopPing();
    const ping = () => {
      if (ws.readyState === WebSocket.OPEN) {
        ws.ping(PING_PAYLOAD, undefined, () => {});
      }
    };
    ping();
    this.#pingTimer = setInterval(ping, this.#o.pingIntervalMs ?? STOCK_PING_INTERVAL_MS);
    this.#pingTimer.unref();
  }

  #stopPing(): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }
}
