// The durable outbox of final, stopped, invalid and error reports.
//
// Every such report is written to `<stateDir>/outbox/` (dir 0700, file 0600, fsync, atomic rename)
// before it is sent, then sent until the server accepts it (HTTP status ≤ 400, as the stock client
// counts it), retrying with capped, jittered exponential backoff; the file is removed once
// accepted. Entries left by an earlier run are sent again when the outbox opens. The server ignores
// a second copy of a final report, so a crash between acceptance and removal is harmless.
//
// File format: one line of JSON (the report, the action to take once accepted, the body length),
// a newline, then the raw body bytes (the output, which need not be valid UTF-8).
import { readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Report, SendFileReport } from '../../protocol/index.js';
import { backoffDelay, ensureError, type Logger } from '../shared/index.js';
import { TMP_PREFIX, ensurePrivateDir, removeDurably, safeName, writeDurably } from './durable-files.js';
import type { PowerAction } from './power.js';

export type OutboxReport = Exclude<Report, { kind: 'running' | 'verified' }>;
/** Everything the outbox carries: task reports and SendFile results (luban §5.9). */
export type OutboxItem = OutboxReport | SendFileReport;

export interface OutboxEntry {
  /** File name inside the outbox; orders entries by creation. */
  readonly name: string;
  readonly report: OutboxItem;
  readonly body: Buffer;
  /** Done once the server has accepted the report (exit codes 193/194, 3009/3010). */
  readonly after?: PowerAction;
  /** False when the file could not be written: the entry lives in memory only. */
  readonly durable: boolean;
}

export interface ReportOutboxOptions {
  dir: string;
  log: Logger;
  /** One delivery attempt; true when the server accepted the report. Must not throw. */
  post: (r: OutboxItem, body: Buffer) => Promise<boolean>;
  /** Called once per entry after the server accepted it and its file is gone. */
  onAccepted?: (e: OutboxEntry) => void;
  /** Retry delays: initialMs doubling up to maxMs, jittered. Default 1 s → 60 s. */
  retry?: { initialMs: number; maxMs: number };
}

const FORMAT = 1;
const SUFFIX = '.report';

interface Header {
  v: number;
  report: OutboxItem;
  after?: PowerAction;
  bodyLength: number;
}

export class ReportOutbox {
  readonly #o: ReportOutboxOptions;
  readonly #log: Logger;
  readonly #retry: { initialMs: number; maxMs: number };
  readonly #stopping = new AbortController();
  /** Entries not yet accepted, by file name. */
  readonly #pending = new Map<string, OutboxEntry>();
  /** Delivery chains by taskId: the reports of one task are sent in the order they were queued. */
  readonly #chains = new Map<string, Promise<void>>();
  /** Resolvers of retry waits; wake() ends them all early. */
  readonly #waiters = new Set<() => void>();
  #seq = 0;
  #opened = false;
  #sending = false;

  constructor(o: ReportOutboxOptions) {
    this.#o = o;
    this.#log = o.log;
    this.#retry = o.retry ?? { initialMs: 1_000, maxMs: 60_000 };
  }

  get dir(): string {
    return this.#o.dir;
  }

  /** Reports not yet accepted by the server. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** True while a final-type report of this task is waiting to be accepted. */
  has(taskId: string): boolean {
    for (const e of this.#pending.values()) {
      if (e.report.taskId === taskId) {
        return true;
      }
    }
    return false;
  }

  /**
   * Creates the directory (0700) and loads what an earlier run left. Loaded entries wait for
   * startSending(). Unreadable files are renamed to `*.corrupt` and skipped.
   */
  async open(): Promise<number> {
    let names: string[];
    try {
      await ensurePrivateDir(this.#o.dir, 0o700);
      names = (await readdir(this.#o.dir)).sort();
    } catch (e) {
      // The agent still runs tasks: reports are then held in memory only (put() logs each one).
      this.#log.error('outbox unusable', { dir: this.#o.dir, err: ensureError(e) });
      this.#opened = true;
      return 0;
    }
    let loaded = 0;
    for (const name of names) {
      const path = join(this.#o.dir, name);
      if (name.startsWith(TMP_PREFIX)) {
        // A write that never reached its rename: the report it held was never promised to anyone.
        await unlink(path).catch(() => {});
        continue;
      }
      if (!name.endsWith(SUFFIX)) {
        continue;
      }
      try {
        const entry = parseEntry(name, await readFile(path));
        this.#pending.set(name, entry);
        loaded += 1;
      } catch (e) {
        this.#log.error('outbox entry unreadable', { file: name, err: ensureError(e) });
        await rename(path, `${path}.corrupt`).catch(() => {});
      }
    }
    this.#opened = true;
    if (loaded > 0) {
      this.#log.info('outbox reports left from an earlier run', { count: loaded });
    }
    return loaded;
  }

  /** Starts delivering everything pending, and from now on every new entry at once. */
  startSending(): void {
    if (this.#sending) {
      return;
    }
    this.#sending = true;
    for (const e of this.#pending.values()) {
      this.#schedule(e);
    }
  }

  /**
   * Queues a report: resolves once it is on disk (or, if the disk refuses, held in memory — logged
   * at error level), never rejects. Delivery runs in the background.
   */
  async put(report: OutboxItem, body: Buffer = Buffer.alloc(0), after?: PowerAction): Promise<OutboxEntry> {
    if (!this.#opened) {
      throw new Error('outbox used before open()');
    }
    this.#seq += 1;
    const name =
      `${String(Date.now()).padStart(14, '0')}-${String(this.#seq).padStart(6, '0')}-` +
      `${report.kind}-${safeName(report.taskId, 64)}${SUFFIX}`;
    const header: Header = { v: FORMAT, report, ...(after ? { after } : {}), bodyLength: body.length };
    let durable = true;
    try {
      await writeDurably(this.#o.dir, name, Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), body]));
    } catch (e) {
      durable = false;
      this.#log.error('outbox write failed; report kept in memory only', {
        taskId: report.taskId,
        kind: report.kind,
        err: ensureError(e),
      });
    }
    const entry: OutboxEntry = { name, report, body, ...(after ? { after } : {}), durable };
    this.#pending.set(name, entry);
    if (this.#sending) {
      this.#schedule(entry);
    }
    return entry;
  }

  /** The server is reachable again (a reconnect, a successful fetch): retry waits end now. */
  wake(): void {
    for (const w of [...this.#waiters]) {
      w();
    }
  }

  /** True while some report is being delivered (or waits for its next attempt). */
  get busy(): boolean {
    return this.#chains.size > 0;
  }

  /** Resolves when no report is being delivered (for tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.#chains.size > 0) {
      await Promise.all([...this.#chains.values()]);
    }
  }

  /** Stops delivery; what is pending stays on disk for the next run. */
  stop(): void {
    this.#stopping.abort();
    this.wake();
  }

  #schedule(e: OutboxEntry): void {
    const key = e.report.taskId;
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.#deliver(e));
    this.#chains.set(key, next);
    void next.finally(() => {
      if (this.#chains.get(key) === next) {
        this.#chains.delete(key);
      }
    });
  }

  async #deliver(e: OutboxEntry): Promise<void> {
    const log = this.#log.child({ taskId: e.report.taskId });
    for (let attempt = 0; !this.#stopping.signal.aborted; attempt += 1) {
      let accepted = false;
      try {
        accepted = await this.#o.post(e.report, e.body);
      } catch (err) {
        log.warn('outbox post crashed', { kind: e.report.kind, err: ensureError(err) });
      }
      if (accepted) {
        this.#pending.delete(e.name);
        if (e.durable) {
          await removeDurably(this.#o.dir, e.name).catch((err: unknown) =>
            log.error('outbox entry not removed', { file: e.name, err: ensureError(err) }),
          );
        }
        log.debug('task report accepted', { kind: e.report.kind, attempts: attempt + 1 });
        this.#o.onAccepted?.(e);
        return;
      }
      if (this.#stopping.signal.aborted) {
        return;
      }
      const delayMs = backoffDelay(attempt, { ...this.#retry, jitter: true });
      log.debug('task report will be retried', { kind: e.report.kind, attempt: attempt + 1, delayMs });
      await this.#wait(delayMs);
    }
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.#waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }
}

function parseEntry(name: string, data: Buffer): OutboxEntry {
  const nl = data.indexOf(0x0a);
  if (nl < 0) {
    throw new Error('no header line');
  }
  const header = JSON.parse(data.subarray(0, nl).toString('utf8')) as Partial<Header>;
  const body = data.subarray(nl + 1);
  const r = header.report;
  if (
    header.v !== FORMAT ||
    typeof r !== 'object' ||
    r === null ||
    typeof r.taskId !== 'string' ||
    !['finish', 'timeout', 'error', 'stopped', 'invalid'].includes(r.kind) ||
    header.bodyLength !== body.length
  ) {
    throw new Error('not an outbox entry of this version');
  }
  return {
    name,
    report: r,
    body: Buffer.from(body),
    ...(header.after === 'powerOff' || header.after === 'reboot' ? { after: header.after } : {}),
    durable: true,
  };
}
