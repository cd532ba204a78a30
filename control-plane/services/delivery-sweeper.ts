// Fails executions that no agent fetched in time (DeliveryTimeout), on a timer that lives as long
// as the server: start() with the server, stop() before the store closes. In a cluster every node
// has the timer and one of them sweeps (`exclusive`, the store's runOnce).
import type { Log } from '../shared/index.js';
import type { FileSendService } from './file-sends.js';
import type { InvocationService } from './invocations.js';

/** Runs a named background job on one node of a cluster at a time (undefined: another node did). */
export type Exclusive = (name: string, job: () => Promise<void>) => Promise<void | undefined>;

export class DeliverySweeper {
  readonly #invocations: InvocationService;
  readonly #files: FileSendService | undefined;
  readonly #log: Log;
  readonly #intervalMs: number;
  readonly #exclusive: Exclusive;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  /** Sweeps every quarter of the delivery window, between 100 ms and 5 s apart. */
  constructor(
    invocations: InvocationService,
    log: Log,
    o: { files?: FileSendService; intervalMs?: number; exclusive?: Exclusive } = {},
  ) {
    this.#exclusive = o.exclusive ?? ((_name, job) => job());
    this.#invocations = invocations;
    this.#files = o.files;
    this.#log = log;
    this.#intervalMs = o.intervalMs ?? Math.min(5_000, Math.max(100, Math.floor(invocations.deliveryTimeoutMs / 4)));
  }

  start(): void {
    if (this.#timer) {
      return;
    }
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() => this.#sweep());
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #sweep(): Promise<void> {
    try {
      await this.#exclusive('delivery-sweep', () => this.#sweepNow());
    } catch (e) {
      this.#log.error('delivery sweep failed', { err: String((e as Error)?.stack ?? e) });
    }
  }

  async #sweepNow(): Promise<void> {
    const n = await this.#invocations.sweepDeliveryTimeouts(Date.now());
    if (n > 0) {
      this.#log.warn('executions not delivered in time', { count: n });
    }
    const files = (await this.#files?.sweepTimeouts(Date.now())) ?? 0;
    if (files > 0) {
      this.#log.warn('file sends not delivered or reported in time', { count: files });
    }
  }
}
