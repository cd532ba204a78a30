// Output accounting of one task run (spec/luban-protocol.md §5.6 steps 6–8). Pure: no timers, no I/O.
//
// The merged output stream is split, in order, into
//   1. the bytes sent as bodies of `running` reports (S bytes, at most RUNNING_OUTPUT_CAP + RUNNING_CHUNK_MAX),
//   2. the final segment: everything else, of which the final report carries the last `quota − S` bytes.
// Memory stays bounded whatever the output size: the bytes that may still go to running reports
// (≤ 8048) plus the last `quota` bytes of the rest, and a count of what was discarded.
import {
  OUTPUT_QUOTA_FLOOR,
  RUNNING_CHUNK_MAX,
  RUNNING_INTERVAL_FLOOR_MS,
  RUNNING_OUTPUT_CAP,
} from '../../protocol/index.js';

/** With skipEmpty, an empty running report still goes out after this much silence (§12). */
export const SKIP_EMPTY_MAX_SILENCE_MS = 60_000;

/** The most that can ever be sent in running reports: chunks are taken while S ≤ 6000. */
const RUNNING_MAX_TOTAL = RUNNING_OUTPUT_CAP + RUNNING_CHUNK_MAX;

/** Chunks smaller than this are merged, so a trickle of tiny writes does not grow a long array. */
const COALESCE_BYTES = 8_192;

export const effectiveQuota = (logQuota: number): number =>
  Number.isFinite(logQuota) ? Math.max(Math.trunc(logQuota), OUTPUT_QUOTA_FLOOR) : OUTPUT_QUOTA_FLOOR;

export const reportIntervalMs = (interval: number): number =>
  Number.isFinite(interval) ? Math.max(Math.trunc(interval), RUNNING_INTERVAL_FLOOR_MS) : RUNNING_INTERVAL_FLOOR_MS;

/** Keeps the last `cap` bytes of everything pushed, and the total length. */
export class TailBuffer {
  readonly cap: number;
  #chunks: Buffer[] = [];
  #kept = 0;
  #total = 0;
  constructor(cap: number) {
    this.cap = cap;
  }
  /** Bytes ever pushed. */
  get total(): number {
    return this.#total;
  }
  /** Bytes held in memory (≤ cap + COALESCE_BYTES). */
  get kept(): number {
    return this.#kept;
  }
  push(chunk: Buffer): void {
    if (chunk.length === 0) {
      return;
    }
    this.#total += chunk.length;
    // Copy: the caller's buffer may be a slice of a much larger one that we must not pin.
    const own = Buffer.from(chunk.length > this.cap ? chunk.subarray(chunk.length - this.cap) : chunk);
    const last = this.#chunks.at(-1);
    if (last !== undefined && last.length + own.length <= COALESCE_BYTES) {
      this.#chunks[this.#chunks.length - 1] = Buffer.concat([last, own]);
    } else {
      this.#chunks.push(own);
    }
    this.#kept += own.length;
    // Drop whole chunks from the front while what remains still covers the last `cap` bytes.
    while (this.#chunks.length > 1 && this.#kept - this.#chunks[0]!.length >= this.cap) {
      this.#kept -= this.#chunks.shift()!.length;
    }
  }
  /** The last `n` bytes (n ≤ cap), or fewer if fewer were pushed. */
  tail(n: number): Buffer {
    const all = Buffer.concat(this.#chunks, this.#kept);
    return n >= all.length ? all : all.subarray(all.length - n);
  }
}

export interface FinalOutput {
  body: Buffer;
  /** Bytes of the final segment that are not in `body` (the head was dropped). */
  dropped: number;
}

export interface OutputAccountingOptions {
  logQuota: number;
  skipEmpty: boolean;
}

export class OutputAccounting {
  /** max(logQuota, 12000): running plus final bodies never exceed it. */
  readonly quota: number;
  readonly #skipEmpty: boolean;
  /** S: bytes delivered as bodies of running reports. */
  #sent = 0;
  /** Output not yet sent that a later tick may still take for a running report. Invariant: #head.length + #sent ≤ 8048. */
  #head: Buffer = Buffer.alloc(0);
  /** Output after #head, in order; it can only ever go to the final report. */
  readonly #rest: TailBuffer;
  #lastReportAt: number | undefined;

  constructor(o: OutputAccountingOptions) {
    this.quota = effectiveQuota(o.logQuota);
    this.#skipEmpty = o.skipEmpty;
    this.#rest = new TailBuffer(this.quota);
  }

  /** S, the bytes sent in running reports so far. */
  get runningSent(): number {
    return this.#sent;
  }
  /** Bytes of output held in memory. */
  get bufferedBytes(): number {
    return this.#head.length + this.#rest.kept;
  }

  /** Output from the process, in order. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) {
      return;
    }
    if (this.#rest.total > 0) {
      return this.#rest.push(chunk);
    }
    const room = RUNNING_MAX_TOTAL - this.#sent - this.#head.length;
    if (room <= 0) {
      return this.#rest.push(chunk);
    }
    const toHead = chunk.subarray(0, room);
    this.#head = Buffer.concat([this.#head, toHead]);
    if (chunk.length > room) {
      this.#rest.push(chunk.subarray(room));
    }
  }

  /** The process started (and maybe a start report went out): the skipEmpty silence counts from here. */
  started(now: number): void {
    this.#lastReportAt = now;
  }

  /**
   * One running-report tick. Returns the body of the report to send now (empty = liveness ping),
   * or undefined when skipEmpty suppresses an empty report.
   */
  tick(now: number): Buffer | undefined {
    let body = Buffer.alloc(0);
    if (this.#sent <= RUNNING_OUTPUT_CAP && this.#head.length > 0) {
      const n = Math.min(RUNNING_CHUNK_MAX, this.#head.length);
      body = Buffer.from(this.#head.subarray(0, n));
      this.#head = this.#head.subarray(n);
      this.#sent += n;
    }
    // Past the running cap the stock client moves ≤ 2048 bytes into its final buffer here; in this
    // model those bytes are already part of the final segment, so only the empty ping remains.
    if (body.length === 0 && this.#skipEmpty) {
      const last = this.#lastReportAt ?? now;
      this.#lastReportAt ??= now;
      if (now - last < SKIP_EMPTY_MAX_SILENCE_MS) {
        return undefined;
      }
    }
    this.#lastReportAt = now;
    return body;
  }

  /**
   * A running report with this body (the last one `tick` returned) did not reach the server: its
   * bytes go back in front of what is unsent, so a later running report or the final one carries
   * them instead of losing them (the stock client drops them). Only valid for the newest body,
   * which holds because the runner sends running reports one at a time.
   */
  giveBack(body: Buffer): void {
    if (body.length === 0) {
      return;
    }
    this.#head = Buffer.concat([body, this.#head]);
    this.#sent -= body.length;
  }

  /** Everything not sent in running reports, cut to the last `quota − S` bytes. Does not consume. */
  final(): FinalOutput {
    const length = this.#head.length + this.#rest.total;
    const budget = this.quota - this.#sent; // > 0: S ≤ 8048 < 12000 ≤ quota
    if (length <= budget) {
      return { body: Buffer.concat([this.#head, this.#rest.tail(this.#rest.cap)]), dropped: 0 };
    }
    let body: Buffer;
    if (this.#rest.total >= budget) {
      // Only bytes of #rest are needed, and it keeps the last quota ≥ budget of them.
      body = this.#rest.tail(budget);
    } else {
      // #rest was never truncated (its total < budget ≤ cap): all of it plus the end of #head.
      const fromHead = budget - this.#rest.total;
      body = Buffer.concat([this.#head.subarray(this.#head.length - fromHead), this.#rest.tail(this.#rest.cap)]);
    }
    return { body, dropped: length - budget };
  }
}
