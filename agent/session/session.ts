// One Session Manager session (spec/luban-protocol.md §6): its data channel, its PTY or forwarded
// TCP socket, the frames between them, its limits, and the status it ends with.
import {
  decodeSessionFrame,
  encodeSessionFrame,
  parseSetSize,
  parseStatusPayload,
  SessionMessageType,
  type SessionStatusCode,
  type SessionTask,
  type TerminalSize,
} from '../../protocol/index.js';
import type { Logger } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { ensureError } from '../shared/index.js';
import { DataChannel, type ReconnectPolicy } from './data-channel.js';
import { OutputPump, type SessionMode } from './output-pump.js';
import { SessionStartError, type BackendFactory, type SessionBackend } from './backend.js';

export interface SessionLimits {
  /** No valid inbound frame for this long ends the session with Timeout (stock ~180 s). */
  idleMs: number;
  /** The session ends with Timeout after this long whatever happens (stock 3 h). */
  maxMs: number;
  /** Reading the PTY or socket starts this long after the channel opens (stock 1 s). */
  startDelayMs: number;
  pingIntervalMs?: number;
  reconnect?: ReconnectPolicy;
}

export const STOCK_SESSION_LIMITS: SessionLimits = {
  idleMs: 180_000,
  maxMs: 3 * 3600_000,
  startDelayMs: 1_000,
};

export interface SessionOptions {
  task: SessionTask;
  host: string;
  http: HttpClient;
  log: Logger;
  limits: SessionLimits;
  /** Starts the PTY (shell) or the TCP connection (port) once the channel is up. */
  backends: BackendFactory;
}

/** Input held before the backend starts; beyond it the channel is not read until the start. */
const PENDING_INPUT_LIMIT = 1024 * 1024;

export class Session {
  readonly channelId: string;
  readonly mode: SessionMode;
  /** Resolves with the code the session ended with, once everything it started is gone. */
  readonly done: Promise<SessionStatusCode>;
  readonly #o: SessionOptions;
  readonly #log: Logger;
  #resolveDone!: (code: SessionStatusCode) => void;
  #channel: DataChannel | undefined;
  #pump: OutputPump | undefined;
  #backend: SessionBackend | undefined;
  #size: TerminalSize | undefined;
  /** Input that arrived before the backend started. */
  #pendingInput: Buffer[] = [];
  #pendingBytes = 0;
  #sequence = 0;
  #ended = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #maxTimer: NodeJS.Timeout | undefined;
  #startTimer: NodeJS.Timeout | undefined;
  #channelPaused = false;
  /** The backend being started, so an end during its start still closes it. */
  #starting: Promise<SessionBackend | undefined> | undefined;

  constructor(o: SessionOptions) {
    this.#o = o;
    this.channelId = o.task.channelId;
    this.mode = o.task.portNumber !== '' ? 'port' : 'shell';
    this.#log = o.log.child({ channelId: this.channelId, mode: this.mode });
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  /** Opens the channel and starts; the outcome is in `done`. */
  async start(): Promise<void> {
    const { task, limits } = this.#o;
    if (task.websocketUrl !== '') {
      this.#log.debug('session websocketUrl ignored', { websocketUrl: task.websocketUrl });
    }
    this.#maxTimer = setTimeout(() => this.#end('Timeout', 'hard limit'), limits.maxMs);
    const channel = new DataChannel({
      host: this.#o.host,
      channelId: this.channelId,
      http: this.#o.http,
      log: this.#log,
      onMessage: (data) => this.#onMessage(data),
      onLost: () => this.#end('Timeout', 'channel lost'),
      ...(limits.reconnect ? { reconnect: limits.reconnect } : {}),
      ...(limits.pingIntervalMs ? { pingIntervalMs: limits.pingIntervalMs } : {}),
    });
    this.#channel = channel;
    try {
      await channel.open();
    } catch (e) {
      this.#log.warn('session channel not opened', { err: ensureError(e) });
      this.#end('Open_channel_failed', 'open');
      return;
    }
    if (this.#ended) {
      void channel.close();
      return;
    }
    this.#log.info('session channel open', { flowLimit: task.flowLimit, user: task.username });
    this.#idleTimer = setTimeout(() => this.#end('Timeout', 'idle'), limits.idleMs);
    this.#pump = new OutputPump({
      mode: this.mode,
      speedBps: task.flowLimit,
      send: (chunk) => this.#sendOutput(chunk),
      pauseSource: () => this.#backend?.pause(),
      resumeSource: () => this.#backend?.resume(),
      onError: (e) => {
        this.#log.warn('session output failed', { err: e });
        this.#end('Timeout', 'channel lost');
      },
    });
    this.#startTimer = setTimeout(() => void this.#startBackend(), limits.startDelayMs);
  }

  /** Ends the session from outside (`kick_vm session stop` → Notified). */
  stop(code: SessionStatusCode, why: string): void {
    this.#end(code, why);
  }

  async #startBackend(): Promise<void> {
    if (this.#ended) {
      return;
    }
    const pump = this.#pump!;
    this.#starting = this.#o.backends
      .start(this.#o.task, {
        size: this.#size,
        onData: (d) => pump.push(d),
        onEnd: (code, why) => {
          // The program exited or the target closed: what it wrote still goes out first.
          void pump.end().then(() => this.#end(code, why));
        },
        log: this.#log,
      })
      .catch((e: unknown) => {
        const code = e instanceof SessionStartError ? e.statusCode : 'Unknown_error';
        this.#log.warn('session start failed', { code, err: ensureError(e) });
        this.#end(code, 'start');
        return undefined;
      });
    const backend = await this.#starting;
    if (backend === undefined || this.#ended) {
      return; // #end closes it
    }
    this.#backend = backend;
    if (this.#size) {
      backend.resize(this.#size); // a set_size that came while it was starting
    }
    for (const input of this.#pendingInput) {
      backend.write(input);
    }
    this.#pendingInput = [];
    this.#pendingBytes = 0;
    if (this.#channelPaused) {
      backend.onDrain(() => {
        this.#channelPaused = false;
        this.#channel?.resume();
      });
    }
  }

  #onMessage(data: Buffer): void {
    const frame = decodeSessionFrame(data);
    if (frame === undefined || this.#ended) {
      return; // dropped, as stock: too short or CreatedDate 0
    }
    this.#idleTimer?.refresh();
    switch (frame.messageType) {
      case SessionMessageType.InputStreamData:
        if (this.#backend) {
          if (!this.#backend.write(frame.payload) && !this.#channelPaused) {
            // The target is slower than the server: stop reading frames until it drained.
            this.#channelPaused = true;
            this.#channel?.pause();
            this.#backend.onDrain(() => {
              this.#channelPaused = false;
              this.#channel?.resume();
            });
          }
        } else {
          this.#pendingInput.push(Buffer.from(frame.payload));
          this.#pendingBytes += frame.payload.length;
          if (this.#pendingBytes > PENDING_INPUT_LIMIT && !this.#channelPaused) {
            this.#channelPaused = true; // resumed once the backend has taken it
            this.#channel?.pause();
          }
        }
        return;
      case SessionMessageType.SetSize: {
        const size = parseSetSize(frame.payload);
        if (size === undefined) {
          this.#log.debug('session set_size ignored', { payload: frame.payload.toString('utf8').slice(0, 100) });
          return;
        }
        this.#size = size;
        this.#backend?.resize(size);
        return;
      }
      case SessionMessageType.Status: {
        const status = parseStatusPayload(frame.payload);
        if (status?.speed !== undefined) {
          this.#pump?.setSpeed(status.speed);
          this.#log.info('session speed set', { speedBps: status.speed });
        }
        return;
      }
      default:
        return; // close_data_channel (3) and unknown types are ignored, as stock
    }
  }

  #sendOutput(chunk: Buffer): Promise<void> {
    const frame = encodeSessionFrame({
      messageType: SessionMessageType.OutputStreamData,
      sessionId: this.channelId,
      sequenceNumber: this.#sequence++,
      payload: chunk,
    });
    return this.#channel!.send(frame);
  }

  #end(code: SessionStatusCode, why: string): void {
    if (this.#ended) {
      return;
    }
    this.#ended = true;
    clearTimeout(this.#maxTimer);
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#startTimer);
    this.#pump?.close();
    // What was sent goes out before the close: the report must not overtake the last output.
    const channelClosed = this.#channel?.close() ?? Promise.resolve();
    this.#log.info('session ended', {
      code,
      why,
      sentBytes: this.#pump?.sentBytes ?? 0,
      receivedBytes: this.#pump?.receivedBytes ?? 0,
    });
    const running = this.#backend;
    this.#backend = undefined;
    const starting = this.#starting;
    void (async () => {
      const backend = running ?? (await starting);
      await Promise.all([backend?.close(), channelClosed]);
      this.#resolveDone(code);
    })();
  }
}
