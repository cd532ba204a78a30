// Group commit: calls that arrive in the same turn of the event loop are handed to `flush` as one
// batch, so a busy server writes many agents' requests in one statement or transaction while a
// lone request still completes in the same turn it would have. Each caller gets its own result.
// With a window (windowMs), a batch instead collects what arrives within that time of its first
// call: for writes that nobody waits on closely (heartbeats), which otherwise arrive one per turn.

/** Handles a batch; returns one result per item, in order. Throwing fails every item of the batch. */
export type BatchFlush<T, R> = (items: T[]) => Promise<R[]>;

export class Batcher<T, R> {
  readonly #flush: BatchFlush<T, R>;
  readonly #windowMs: number;
  #pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];

  constructor(flush: BatchFlush<T, R>, o: { windowMs?: number } = {}) {
    this.#flush = flush;
    this.#windowMs = o.windowMs ?? 0;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length === 1) {
        if (this.#windowMs > 0) {
          setTimeout(() => void this.#run(), this.#windowMs);
        } else {
          setImmediate(() => void this.#run());
        }
      }
    });
  }

  async #run(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    try {
      const results = await this.#flush(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i]!));
    } catch (e) {
      for (const b of batch) {
        b.reject(e);
      }
    }
  }
}
