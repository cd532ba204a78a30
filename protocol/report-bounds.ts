// Bounds on the numbers an agent reports in a query string (times, exit codes, byte counts,
// versions). Whatever an agent sends is untrusted: a value outside these bounds is refused at the
// edge, before anything is stored, so one agent cannot store a value that breaks every listing
// that shows it (a time of year 287,000 makes Date#toISOString throw).
//
// Refused, not clamped: a stock agent only ever sends integers well inside these bounds (its
// signed requests already carry a timestamp within 15 minutes of the server's clock), so a value
// outside them comes from a broken or hostile peer, and guessing a replacement would store a lie.

/** No task ran before 2000-01-01T00:00:00Z. */
export const AGENT_TIME_MIN_MS = Date.UTC(2000, 0, 1);
/** Clocks drift, but one more than a day ahead of the server is broken. */
export const AGENT_CLOCK_LEAD_MAX_MS = 86_400_000;
/** Exit codes: signed 32-bit on Unix, unsigned 32-bit on Windows (e.g. 0xC0000005 = 3221225477). */
export const EXIT_CODE_MIN = -(2 ** 31);
export const EXIT_CODE_MAX = 2 ** 32 - 1;
/** Output bytes one report drops (1 TiB): more than any task prints, and sums stay safe integers. */
export const DROPPED_MAX = 2 ** 40;
/** `invokeVersion` is a counter the server hands out; it never gets near 2^31. */
export const INVOKE_VERSION_MAX = 2 ** 31 - 1;
/** A UTC offset in seconds: real zones lie within ±14 h; a day either way is the outer bound. */
export const UTC_OFFSET_MAX_S = 86_400;

const INTEGER = /^-?\d{1,20}$/;
const show = (raw: string) => JSON.stringify(raw.length > 32 ? `${raw.slice(0, 32)}…` : raw);

/**
 * Reads integers from a query, collecting every problem. A missing or empty value reads as 0,
 * which every report field takes to mean "not given" (the stock agent sends `start=0&end=0` for a
 * task that never started).
 */
export class QueryNumbers {
  readonly errors: string[] = [];
  readonly #q: URLSearchParams;
  readonly #nowMs: number;
  constructor(q: URLSearchParams, nowMs: number) {
    this.#q = q;
    this.#nowMs = nowMs;
  }

  /** An integer within [min, max]; 0 when absent. */
  int(key: string, min: number, max: number): number {
    const raw = this.#q.get(key);
    if (raw === null || raw === '') {
      return 0;
    }
    const v = INTEGER.test(raw) ? Number(raw) : Number.NaN;
    if (!(v >= min && v <= max)) {
      this.errors.push(`${key}: ${show(raw)} is not an integer from ${min} to ${max}`);
      return 0;
    }
    return v;
  }

  /** A time in ms since the epoch, from 2000 to a day past the server's clock; 0 when absent. */
  time(key: string): number {
    const v = this.int(key, 0, Number.MAX_SAFE_INTEGER);
    if (v !== 0 && (v < AGENT_TIME_MIN_MS || v > this.#nowMs + AGENT_CLOCK_LEAD_MAX_MS)) {
      this.errors.push(`${key}: ${v} is not a time from 2000 to a day past the server's clock`);
      return 0;
    }
    return v;
  }

  /** One of `allowed`, which the agent must send. */
  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const raw = this.#q.get(key) ?? '';
    if (!(allowed as readonly string[]).includes(raw)) {
      this.errors.push(`${key}: ${show(raw)} is not one of ${allowed.join(', ')}`);
      return allowed[0]!;
    }
    return raw as T;
  }
}
