// Times on the operator API are ISO 8601 UTC without milliseconds, as the stock API shows them.

/** Past year 9999 toISOString leaves the format (+YYYYYY-…), and past ±8.64e15 it throws. */
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * A stored time (ms since the epoch) for a listing; 0, null and anything outside 1970–9999 show as
 * empty. It never throws: one row stored with a bad time (before times were checked, or by another
 * writer) shows that field empty instead of failing every page that holds it.
 */
export function isoTime(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !(ms > 0 && ms <= MAX_MS)) {
    return '';
  }
  // A fan-out's thousands of records share a few hundred seconds between their five times, which
  // alternate from field to field: format each second once, in a cache emptied when it fills up.
  const second = Math.floor(ms / 1000);
  let text = formatted.get(second);
  if (text === undefined) {
    if (formatted.size >= FORMATTED_SECONDS) {
      formatted.clear();
    }
    text = `${new Date(second * 1000).toISOString().slice(0, 19)}Z`;
    formatted.set(second, text);
  }
  return text;
}
const FORMATTED_SECONDS = 4096;
const formatted = new Map<number, string>();
