// Output that streams through the agent must not pile up in memory while it waits for V8. Every
// chunk a pipe delivers is a fresh 64 KiB buffer outside the JavaScript heap; V8 frees it only at
// its next garbage collection, which the few JavaScript objects a chunk makes do not bring on, so
// a command that prints 50 MB at full speed used to leave 30–40 MiB of read-and-dropped buffers
// resident before a collection came. After every RECLAIM_EVERY_BYTES of output read (by all runs
// together) this asks for a young-generation collection, which frees them: about a millisecond,
// a dozen times for 50 MB (docs/benchmarks.md). Commands with little output never trigger it.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const RECLAIM_EVERY_BYTES = 4 * 1024 * 1024;

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
    collector()?.({ type: 'minor' });
  }
}
