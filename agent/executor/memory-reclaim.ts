// Asks V8 to collect where its own heuristics leave memory resident for a long time on an agent
// that is idle most of its life (docs/benchmarks.md has the figures):
// - Output streaming through the agent: every chunk a pipe delivers is a fresh 64 KiB buffer
//   outside the JavaScript heap; V8 frees it only at its next garbage collection, which the few
//   JavaScript objects a chunk makes do not bring on, so a command that prints 50 MB at full speed
//   used to leave 30–40 MiB of read-and-dropped buffers resident. After every RECLAIM_EVERY_BYTES
//   of output read (by all runs together) this asks for a young-generation collection: about a
//   millisecond, a dozen times for 50 MB. Commands with little output never trigger it.
// - Work that ended: what a burst of tasks leaves in the young generation stays resident until V8
//   next collects, which an idle agent may not do for a long time: 60 `echo` tasks and a minute
//   idle left 2 MiB more RSS than a young-generation collection does. Once the agent has had no
//   work for IDLE_RECLAIM_DELAY_MS, this asks for one. (A full collection, `gc()`, gave back
//   nothing measurable there.)
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const RECLAIM_EVERY_BYTES = 4 * 1024 * 1024;
export const IDLE_RECLAIM_DELAY_MS = 10_000;

/**
 * V8's gc(): without options a full collection. With an options object Node 20's V8 runs a
 * young-generation collection whatever its `type` (its gc performance entry says kind minor).
 */
type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;
let gc: Gc | null | undefined;
let sinceLast = 0;

/** V8's gc(), made on first need: exposed to a context created after the flag (not to the agent's own). */
function collector(): Gc | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
    } catch {
      gc = null; // nothing to do: V8 collects in its own time, as before
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  return gc;
}

/** Counts output bytes read; past the threshold, collects the young generation. */
export function outputRead(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast >= RECLAIM_EVERY_BYTES) {
    sinceLast = 0;
    collectYoung();
  }
}

/** A young-generation collection now (0.2–1.0 ms for the agent's heap, in its gc performance entries). */
export function collectYoung(): void {
  collector()?.({ type: 'minor' });
}

export interface IdleReclaimOptions {
  delayMs?: number;
  /** The collection to run (default collectYoung). */
  collect?: () => void;
}

/**
 * Call `drained()` whenever the agent's last piece of work ends: `delayMs` later, unless it is
 * called again first, it collects.
 */
export class IdleReclaimer {
  readonly #delayMs: number;
  readonly #collect: () => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: IdleReclaimOptions = {}) {
    this.#delayMs = o.delayMs ?? IDLE_RECLAIM_DELAY_MS;
    this.#collect = o.collect ?? collectYoung;
  }

  drained(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#collect();
    }, this.#delayMs).unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
