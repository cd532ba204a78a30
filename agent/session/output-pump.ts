// Agent → server output of one session (spec/luban-protocol.md §6 "Outbound"): chunks of one
// packet (1024 bytes shell, 2048 port) sent at the stock interval for the flow limit; shell output
// cut only at UTF-8 boundaries. Our extension: a speed fast enough that the stock interval rounds
// to 0 ms sends big chunks with no pause at all, so our control plane can ask for port forwarding
// at tens of MB/s. The source is paused while too much waits, so a fast producer is held back by
// the terminal or the socket rather than buffered in the agent.
import {
  SESSION_DEFAULT_FLOW_LIMIT_BPS,
  SESSION_DEFAULT_INTERVAL_MS,
  SESSION_PACKET_BYTES,
  sessionSendIntervalMs,
} from '../../protocol/index.js';
import { utf8SafeLength } from './utf8-cut.js';

export type SessionMode = 'shell' | 'port';

/** Chunk size when no pause is needed between chunks. */
export const UNPACED_CHUNK_BYTES = 64 * 1024;
/** Queued bytes at which the source is paused, and below which it resumes. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** An incomplete character at the end of the output is sent anyway after this long. */
const PARTIAL_CHAR_WAIT_MS = 50;

export interface OutputPumpOptions {
  mode: SessionMode;
  /** bits/s; 0 is the stock default (200 kbit/s with the stock default intervals) */
  speedBps: number;
  /** Sends one chunk as a frame; a promise holds the pump until the channel can take more. */
  send: (chunk: Buffer) => Promise<void> | void;
  pauseSource: () => void;
  resumeSource: () => void;
  /** A send failed: the session ends. */
  onError: (e: Error) => void;
}

export interface Pacing {
  chunkBytes: number;
  intervalMs: number;
}

/** The pacing for a speed: the stock one, or unpaced big chunks when its interval is 0. */
export function pacingFor(mode: SessionMode, speedBps: number): Pacing {
  const packet = SESSION_PACKET_BYTES[mode];
  if (speedBps <= 0 || speedBps === SESSION_DEFAULT_FLOW_LIMIT_BPS) {
    return { chunkBytes: packet, intervalMs: SESSION_DEFAULT_INTERVAL_MS[mode] };
  }
  const intervalMs = sessionSendIntervalMs(speedBps, packet);
  return intervalMs === 0 ? { chunkBytes: UNPACED_CHUNK_BYTES, intervalMs: 0 } : { chunkBytes: packet, intervalMs };
}

export class OutputPump {
  readonly #o: OutputPumpOptions;
  #pacing: Pacing;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #running = false;
  #paused = false;
  #ending = false;
  #closed = false;
  #lastSentAt = 0;
  #partialTimer: NodeJS.Timeout | undefined;
  #partialDue = false;
  #drained: (() => void) | undefined;
  #sentBytes = 0;
  #receivedBytes = 0;

  constructor(o: OutputPumpOptions) {
    this.#o = o;
    this.#pacing = pacingFor(o.mode, o.speedBps);
  }

  get pacing(): Pacing {
    return this.#pacing;
  }

  get sentBytes(): number {
    return this.#sentBytes;
  }

  /** Bytes the source gave, sent or not. */
  get receivedBytes(): number {
    return this.#receivedBytes;
  }

  /** A status frame with code 7 changed the speed (bits/s). */
  setSpeed(speedBps: number): void {
    this.#pacing = pacingFor(this.#o.mode, speedBps);
  }

  push(data: Buffer): void {
    this.#receivedBytes += data.length;
    if (this.#closed || this.#ending || data.length === 0) {
      return;
    }
    this.#queue.push(data);
    this.#queued += data.length;
    if (!this.#paused && this.#queued >= HIGH_WATER) {
      this.#paused = true;
      this.#o.pauseSource();
    }
    void this.#run();
  }

  /** The source has ended: sends what is queued (an incomplete last character too), then resolves. */
  end(): Promise<void> {
    this.#ending = true;
    if (this.#queued === 0 || this.#closed) {
      return Promise.resolve();
    }
    const done = new Promise<void>((resolve) => {
      this.#drained = resolve;
    });
    void this.#run();
    return done;
  }

  /** Drops what is queued and sends nothing more. */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
    this.#queued = 0;
    clearTimeout(this.#partialTimer);
    this.#finishDrain();
  }

  async #run(): Promise<void> {
    if (this.#running) {
      return;
    }
    this.#running = true;
    try {
      while (!this.#closed && this.#queued > 0) {
        const wait = this.#lastSentAt + this.#pacing.intervalMs - Date.now();
        if (wait > 0) {
          await new Promise((r) => setTimeout(r, wait));
          if (this.#closed) {
            break;
          }
        }
        const chunk = this.#take(this.#pacing.chunkBytes);
        if (chunk === undefined) {
          this.#armPartialTimer();
          break;
        }
        this.#lastSentAt = Date.now();
        this.#sentBytes += chunk.length;
        if (this.#paused && this.#queued < LOW_WATER) {
          this.#paused = false;
          this.#o.resumeSource();
        }
        await this.#o.send(chunk);
      }
    } catch (e) {
      this.#closed = true;
      this.#o.onError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.#running = false;
    }
    if (this.#queued === 0 || this.#closed) {
      this.#finishDrain();
    } else if (this.#ending || this.#partialDue) {
      void this.#run();
    }
  }

  /** Up to `max` bytes from the queue, never ending inside a character in shell mode. */
  #take(max: number): Buffer | undefined {
    const want = Math.min(max, this.#queued);
    const head = this.#queue[0]!;
    let peek: Buffer;
    if (head.length >= want) {
      peek = head.subarray(0, want);
    } else {
      const parts: Buffer[] = [];
      let got = 0;
      for (const b of this.#queue) {
        if (got >= want) {
          break;
        }
        const part = b.length <= want - got ? b : b.subarray(0, want - got);
        parts.push(part);
        got += part.length;
      }
      peek = Buffer.concat(parts, want);
    }
    let len = want;
    if (this.#o.mode === 'shell') {
      const safe = utf8SafeLength(peek);
      if (safe > 0) {
        len = safe;
      } else if (want === this.#queued && !this.#ending && !this.#partialDue) {
        return undefined; // only the start of a character: wait for the rest of it
      }
    }
    this.#partialDue = false;
    this.#consume(len);
    return len === peek.length ? peek : peek.subarray(0, len);
  }

  #consume(n: number): void {
    this.#queued -= n;
    while (n > 0) {
      const head = this.#queue[0]!;
      if (head.length <= n) {
        this.#queue.shift();
        n -= head.length;
      } else {
        this.#queue[0] = head.subarray(n);
        n = 0;
      }
    }
  }

  #armPartialTimer(): void {
    clearTimeout(this.#partialTimer);
    this.#partialTimer = setTimeout(() => {
      this.#partialDue = true;
      void this.#run();
    }, PARTIAL_CHAR_WAIT_MS);
    this.#partialTimer.unref();
  }

  #finishDrain(): void {
    const d = this.#drained;
    this.#drained = undefined;
    d?.();
  }
}
