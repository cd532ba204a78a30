// `rate(<n><s|m|h|d>)` and `at(YYYY-MM-DDTHH:MM:SS)` (luban §5.4): their grammar and schedules.
import type { Schedule } from './contract.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Whitespace only between `rate` and `(` and between the number and the unit (client-features §3.3.3). */
const RATE = /^rate\s*\((\d+)\s*([smhd])\)$/i;

export const MAX_WIRE_RATE_MS = 1000 * UNIT_MS.d;

/** The period of a rate expression in ms, or undefined when it does not match the grammar. */
export function ratePeriodMs(text: string): number | undefined {
  const m = RATE.exec(text);
  if (m === null) {
    return undefined;
  }
  const unit = m[2]!.toLowerCase() as keyof typeof UNIT_MS;
  return Number(m[1]) * UNIT_MS[unit];
}

/** Runs at `anchor + k·period`, the first strictly after `afterMs` and never at the anchor itself. */
export function rateSchedule(periodMs: number, anchorMs: number): Schedule {
  return {
    kind: 'Rate',
    timeZone: 'UTC',
    next(afterMs: number): number {
      const k = afterMs < anchorMs ? 1 : Math.floor((afterMs - anchorMs) / periodMs) + 1;
      return anchorMs + k * periodMs;
    },
  };
}

/** One run at `atMs`. */
export function atSchedule(atMs: number): Schedule {
  return {
    kind: 'At',
    timeZone: 'UTC',
    next: (afterMs: number): number | null => (atMs > afterMs ? atMs : null),
  };
}

const WIRE_AT = /^(?:at\()?(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)?$/;

/** Wall-clock fields → naive ms (UTC reading), or undefined when a field is out of its range. */
export function naiveFromFields(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
): number | undefined {
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  const same =
    back.getUTCFullYear() === y &&
    back.getUTCMonth() === mo - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi &&
    back.getUTCSeconds() === s;
  return same ? t : undefined;
}

/** The instant of a wire at expression (UTC), or undefined when it does not parse. */
export function parseWireAt(text: string): number | undefined {
  const m = WIRE_AT.exec(text);
  if (m === null || text.startsWith('at(') !== text.endsWith(')')) {
    return undefined;
  }
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return naiveFromFields(y, mo, d, h, mi, s);
}

/** `at(YYYY-MM-DDTHH:MM:SS)` of an instant, in UTC: what the agent gets on the wire. */
export function formatWireAt(ms: number): string {
  return `at(${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)})`;
}
