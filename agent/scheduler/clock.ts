// The scheduler's clock: wall time and one-shot timers at a wall-clock instant. Tests pass a
// controllable one; the agent uses the system clock.

export interface ClockPort {
  now(): number;
  /** Calls `fire` once, at or after the wall-clock instant `atMs` (never synchronously). Returns a cancel. */
  setTimer(atMs: number, fire: () => void): () => void;
}

/**
 * Timers sleep in chunks of at most this: setTimeout runs on a monotonic clock, so a wall-clock
 * step (NTP, a resumed VM) is noticed within a chunk instead of shifting every run.
 */
export const TIMER_CHUNK_MS = 60_000;

export const systemClock: ClockPort = {
  now: () => Date.now(),
  setTimer(atMs, fire) {
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const check = (): void => {
      if (cancelled) {
        return;
      }
      const delay = atMs - Date.now();
      if (delay <= 0) {
        fire();
        return;
      }
      handle = setTimeout(check, Math.min(delay, TIMER_CHUNK_MS));
    };
    handle = setTimeout(check, Math.max(0, Math.min(atMs - Date.now(), TIMER_CHUNK_MS)));
    return () => {
      cancelled = true;
      clearTimeout(handle);
    };
  },
};
