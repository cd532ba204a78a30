// Every long-lived part is a Service; a group starts them in order and stops them in reverse.
import { ensureError } from './errors.js';
import type { Logger } from './logger.js';

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Must resolve by the time `deadline` aborts; after that the caller stops waiting. */
  stop(deadline: AbortSignal): Promise<void>;
}

export class ServiceGroup {
  readonly #log: Logger;
  readonly #started: Service[] = [];
  #stopping: Promise<void> | undefined;
  constructor(log: Logger) {
    this.#log = log;
  }
  async start(all: readonly Service[]): Promise<void> {
    for (const s of all) {
      await s.start();
      this.#started.push(s);
    }
  }
  stop(budgetMs: number): Promise<void> {
    this.#stopping ??= (async () => {
      const deadline = AbortSignal.timeout(budgetMs);
      for (const s of [...this.#started].reverse()) {
        await s
          .stop(deadline)
          .catch((e: unknown) => this.#log.error('service stop failed', { svc: s.name, err: ensureError(e) }));
      }
    })();
    return this.#stopping;
  }
}
