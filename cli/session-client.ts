// The client end of a terminal session: the WebSocket StartTerminalSession's WebSocketUrl names,
// speaking the stock user-side framing (protocol/session-client-frames.ts). Used by
// `assist session`, `assist port-forward` and the tests.
import { WebSocket } from 'ws';
import {
  ClientMessageType,
  ClientStatusCode,
  decodeClientFrame,
  encodeClientFrame,
  encodeClientSize,
  parseClientStatus,
} from '../protocol/index.js';

/** Input is cut into frames of at most this many bytes. */
const MAX_INPUT_FRAME = 32 * 1024;
/** Unsent bytes above which send() reports the socket full (the caller pauses its source). */
const HIGH_WATER = 1024 * 1024;
const KEEPALIVE_MS = 60_000;

export interface SessionEnd {
  /** The server's reason (`Exit`, `AgentTimeout`, …), or `Disconnected` when the socket just closed. */
  reason: string;
}

export class SessionClient {
  readonly #ws: WebSocket;
  #seq = 0;
  #reason = 'Disconnected';
  /** Output bytes from the instance. */
  onOutput: (bytes: Buffer) => void = () => {};
  /** Called when the socket drained below the high mark after send() returned false. */
  onDrain: () => void = () => {};
  readonly opened: Promise<void>;
  readonly ended: Promise<SessionEnd>;

  /**
   * `keepaliveMs`: an empty input frame this often, as the stock client sends every 60 s: the agent
   * ends a session that received nothing for its idle limit (180 s), even while output flows.
   */
  constructor(url: string, ca?: string, o: { keepaliveMs?: number } = {}) {
    this.#ws = new WebSocket(url, { ...(ca ? { ca } : {}), perMessageDeflate: false });
    const keepaliveMs = o.keepaliveMs ?? KEEPALIVE_MS;
    const keepalive = setInterval(() => this.#frame(ClientMessageType.Input, new Uint8Array(0)), keepaliveMs);
    keepalive.unref();
    this.#ws.on('close', () => clearInterval(keepalive));
    this.opened = new Promise((resolve, reject) => {
      this.#ws.once('open', () => resolve());
      this.#ws.once('unexpected-response', (_req, res) => {
        res.resume();
        reject(new Error(`the session socket was refused: HTTP ${res.statusCode ?? 0}`));
      });
      this.#ws.once('error', reject);
    });
    this.ended = new Promise((resolve) => {
      this.#ws.on('close', () => resolve({ reason: this.#reason }));
      this.#ws.on('error', () => {});
    });
    this.#ws.on('message', (data) => {
      const f = decodeClientFrame(data as Buffer);
      if (!f) {
        return;
      }
      if (f.messageType === ClientMessageType.Output) {
        this.onOutput(Buffer.from(f.payload.buffer, f.payload.byteOffset, f.payload.length));
      } else if (f.messageType === ClientMessageType.Status) {
        const st = parseClientStatus(f.payload);
        if (st?.code === ClientStatusCode.Closed) {
          this.#reason = st.reason;
        }
      }
    });
  }

  /** Sends input; false when the socket holds too much unsent (wait for onDrain). */
  send(bytes: Uint8Array): boolean {
    for (let at = 0; at < bytes.length; at += MAX_INPUT_FRAME) {
      this.#frame(ClientMessageType.Input, bytes.subarray(at, at + MAX_INPUT_FRAME));
    }
    return this.#ws.bufferedAmount < HIGH_WATER;
  }

  resize(cols: number, rows: number): void {
    this.#frame(ClientMessageType.SetSize, encodeClientSize(cols, rows));
  }

  /** Asks the server to end the session (the stock client's close frame), then closes. */
  close(): void {
    if (this.#ws.readyState === WebSocket.OPEN) {
      this.#frame(ClientMessageType.Close, new Uint8Array([0x31]));
      this.#ws.close(1000);
    }
  }

  /** Stops reading output (backpressure toward the server) until resume(). */
  pause(): void {
    this.#ws.pause();
  }

  resume(): void {
    this.#ws.resume();
  }

  #frame(type: number, payload: Uint8Array): void {
    if (this.#ws.readyState !== WebSocket.OPEN) {
      return;
    }
    this.#ws.send(encodeClientFrame(type, payload, this.#seq++), () => {
      if (this.#ws.bufferedAmount < HIGH_WATER / 4) {
        this.onDrain();
      }
    });
  }
}
