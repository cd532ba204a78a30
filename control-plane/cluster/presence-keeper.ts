// Keeps this node's presence rows alive: renews every lease in one statement a third of a lease
// apart, so a node that stops renewing (it died) loses its agents within one lease.
import type { PresenceStore } from './presence.js';

export class PresenceKeeper {
  readonly #presence: PresenceStore;
  readonly #leaseMs: number;
  readonly #onError: (e: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> = Promise.resolve();

  constructor(presence: PresenceStore, leaseMs: number, onError: (e: unknown) => void) {
    this.#presence = presence;
    this.#leaseMs = leaseMs;
    this.#onError = onError;
  }

  /** The lease a connect takes now. */
  leaseFrom(nowMs: number): number {
    return nowMs + this.#leaseMs;
  }

  start(): void {
    this.#timer ??= setInterval(
      () => {
        this.#renewing = this.#renewing
          .then(() => this.#presence.renew(this.leaseFrom(Date.now())))
          .catch(this.#onError);
      },
      Math.max(1, Math.floor(this.#leaseMs / 3)),
    );
    this.#timer.unref();
  }

  /** Stops renewing and forgets this node's rows: its sockets are closing. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
    await this.#presence.releaseAll();
  }
}
