// Time zones of schedule expressions: IANA names (through Intl, so DST is right) and fixed
// `GMT±H:MM` offsets. Local wall-clock times are handled as "naive" epoch ms: the wall clock
// read as if it were UTC (Date.UTC of its fields), so calendar arithmetic is plain Date.UTC.
import type { WireScheduleErrorCode, Zone } from './contract.js';

export type { Zone } from './contract.js';

export type ZoneResult = { ok: true; zone: Zone } | { ok: false; code: WireScheduleErrorCode; message: string };

const HOUR_MS = 3_600_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(name: string): Intl.DateTimeFormat {
  let f = formatters.get(name);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(name, f);
  }
  return f;
}

class IanaZone implements Zone {
  readonly name: string;
  readonly #fmt: Intl.DateTimeFormat;
  constructor(name: string) {
    this.name = name;
    this.#fmt = formatterFor(name);
  }
  offsetMs(utcMs: number): number {
    const whole = Math.floor(utcMs / 1000) * 1000;
    const p: Record<string, number> = {};
    for (const part of this.#fmt.formatToParts(whole)) {
      if (part.type !== 'literal') {
        p[part.type] = Number(part.value);
      }
    }
    const naive = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
    return naive - whole;
  }
}

class FixedZone implements Zone {
  readonly name: string;
  readonly #offset: number;
  constructor(name: string, offset: number) {
    this.name = name;
    this.#offset = offset;
  }
  offsetMs(): number {
    return this.#offset;
  }
}

export const UTC_ZONE: Zone = new FixedZone('UTC', 0);

/** True when Intl knows the IANA name. */
export function isIanaZone(name: string): boolean {
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

const GMT_OFFSET = /^GMT([+-])(.*)$/;

/**
 * The zone of a cron expression's time-zone field, with the stock error codes (luban §5.4):
 * an IANA name containing `/`, `GMT+H:MM` / `GMT-H:MM` (hour 0–14, minutes two digits), `GMT`, `UTC`.
 */
export function parseZone(text: string): ZoneResult {
  if (text === 'UTC' || text === 'GMT') {
    return { ok: true, zone: new FixedZone(text, 0) };
  }
  const gmt = GMT_OFFSET.exec(text);
  if (gmt !== null) {
    const [, sign, rest] = gmt as unknown as [string, string, string];
    const parts = /^(\d+):(\d+)$/.exec(rest);
    if (parts === null) {
      return { ok: false, code: 'InvalidGMTOffsetForTimezone', message: `time zone ${text} is not GMT+H:MM` };
    }
    const [, hh, mm] = parts as unknown as [string, string, string];
    const hours = Number(hh);
    if (hh.length > 2 || hours > 14) {
      return {
        ok: false,
        code: 'InvalidGMTOffsetHourForTimezone',
        message: `time zone ${text}: offset hour ${hh} is out of range 0-14`,
      };
    }
    const minutes = Number(mm);
    if (mm.length !== 2 || minutes > 59) {
      return {
        ok: false,
        code: 'InvalidGMTOffsetMinuteForTimezone',
        message: `time zone ${text}: offset minute ${mm} is not two digits 00-59`,
      };
    }
    const offset = (sign === '-' ? -1 : 1) * (hours * HOUR_MS + minutes * 60_000);
    return { ok: true, zone: new FixedZone(text, offset) };
  }
  if (text.includes('/') && isIanaZone(text)) {
    return { ok: true, zone: new IanaZone(text) };
  }
  return { ok: false, code: 'TimezoneInformationCorrupt', message: `time zone ${text} is unknown` };
}

/** The agent's system zone: an IANA name, a `GMT±H:MM` name, or UTC when neither is usable. */
export function systemZone(name: string): Zone {
  if (name === '' || name === 'UTC') {
    return UTC_ZONE;
  }
  if (isIanaZone(name)) {
    return new IanaZone(name);
  }
  const parsed = parseZone(name);
  return parsed.ok ? parsed.zone : UTC_ZONE;
}

/** The wall clock at an instant, as naive ms (see the file comment). */
export const toNaive = (zone: Zone, utcMs: number): number => utcMs + zone.offsetMs(utcMs);

/**
 * The instants whose wall clock reads `naive`, earliest first: one normally, two in a fall-back
 * overlap, none in a spring-forward gap. For a gap the instant is the one the offset in force
 * before the gap gives, i.e. the wall clock shifted forward by the gap (Go's time.Date does this);
 * it is returned alone, flagged so that callers can tell.
 */
export function fromNaive(zone: Zone, naive: number): { instants: number[]; gap: boolean } {
  // Transitions are far more than 12 h apart: the offsets either side of this wall time are
  // the offsets 12 h before and after it.
  const before = zone.offsetMs(naive - 12 * HOUR_MS);
  const after = zone.offsetMs(naive + 12 * HOUR_MS);
  const instants: number[] = [];
  for (const off of before === after ? [before] : [before, after]) {
    const t = naive - off;
    if (zone.offsetMs(t) === off) {
      instants.push(t);
    }
  }
  if (instants.length > 0) {
    return { instants: instants.sort((a, b) => a - b), gap: false };
  }
  return { instants: [naive - before], gap: true };
}
