// Quartz-style cron expressions as the stock agent reads them (gorhill/cronexpr semantics,
// luban §5.4): `sec min hour dom month dow [year] [zone]`, with `* , - / ?` everywhere, `L W LW`
// in day-of-month, `L #` in day-of-week, names for months and weekdays, years 1970–2099.
// The operator API (openapi.md § Schedules) is stricter; `strict` turns its extra rules on.
import type { WireScheduleErrorCode } from './contract.js';
import { fromNaive, parseZone, toNaive, type Zone } from './zone.js';

export type CronField = 'second' | 'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek' | 'year' | 'timeZone';

export interface CronProblem {
  field: CronField | 'expression';
  code: WireScheduleErrorCode;
  /** One sentence, without the `Frequency:` prefix. */
  message: string;
}

export interface CronSpec {
  readonly seconds: readonly boolean[];
  readonly minutes: readonly boolean[];
  readonly hours: readonly boolean[];
  readonly months: readonly boolean[]; // index 1–12
  readonly years: readonly number[]; // sorted, 1970–2099
  readonly dom: DaysOfMonth;
  readonly dow: DaysOfWeek;
  /** The zone written in the expression, if any. */
  readonly zone: Zone | undefined;
}

interface DaysOfMonth {
  /** `*` or `?`: not restricted. */
  all: boolean;
  days: boolean[]; // index 1–31
  last: boolean;
  lastWeekday: boolean;
  nearestWeekday: number[];
}

interface DaysOfWeek {
  all: boolean;
  days: boolean[]; // index 0–6, 0 = Sunday
  /** `5L`: the last such weekday of the month. */
  lastOf: number[];
  /** `4#2`: [weekday, n]. */
  nth: [number, number][];
}

export const MIN_YEAR = 1970;
export const MAX_YEAR = 2099;

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldRule {
  field: CronField;
  min: number;
  max: number;
  names?: readonly string[];
  /** Value of the first name (JAN = 1, SUN = 0). */
  nameBase?: number;
}

const RULES = {
  second: { field: 'second', min: 0, max: 59 },
  minute: { field: 'minute', min: 0, max: 59 },
  hour: { field: 'hour', min: 0, max: 23 },
  dayOfMonth: { field: 'dayOfMonth', min: 1, max: 31 },
  month: { field: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  dayOfWeek: { field: 'dayOfWeek', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 },
  year: { field: 'year', min: MIN_YEAR, max: MAX_YEAR },
} as const satisfies Record<string, FieldRule>;

export interface CronParseOptions {
  /** Operator rules: at most one leading zero per number, `?` only in day-of-month/day-of-week. */
  strict: boolean;
}

class Problem extends Error {
  readonly problem: CronProblem;
  constructor(field: CronProblem['field'], message: string, code: WireScheduleErrorCode = 'InvalidCronExpression') {
    super(message);
    this.problem = { field, code, message };
  }
}

// A 7th field is a year when it is `*`, `?`, `*/N`, or mentions a year 1970–2099 (luban §5.4).
export const looksLikeYear = (f: string): boolean =>
  f === '*' || f === '?' || /^\*\/\d+$/.test(f) || /19[789]\d|20\d\d/.test(f);

/** Splits and parses an expression; `strict` adds the operator API's rules. */
export function parseCron(
  expression: string,
  o: CronParseOptions,
): { ok: true; spec: CronSpec } | { ok: false; problem: CronProblem } {
  const fields = expression
    .trim()
    .split(/\s+/)
    .filter((f) => f !== '');
  if (fields.length < 6 || fields.length > 8) {
    return {
      ok: false,
      problem: {
        field: 'expression',
        code: 'InvalidCronExpression',
        message: `expected 6 to 8 fields (second minute hour dayOfMonth month dayOfWeek [year] [timeZone]), got ${fields.length}`,
      },
    };
  }
  let yearText = '*';
  let zoneText: string | undefined;
  if (fields.length === 7) {
    if (looksLikeYear(fields[6]!)) {
      yearText = fields[6]!;
    } else {
      zoneText = fields[6]!;
    }
  } else if (fields.length === 8) {
    yearText = fields[6]!;
    zoneText = fields[7]!;
  }
  try {
    let zone: Zone | undefined;
    if (zoneText !== undefined) {
      const z = parseZone(zoneText);
      if (!z.ok) {
        throw new Problem('timeZone', z.message, z.code);
      }
      zone = z.zone;
    }
    const spec: CronSpec = {
      seconds: plainField(fields[0]!, RULES.second, o),
      minutes: plainField(fields[1]!, RULES.minute, o),
      hours: plainField(fields[2]!, RULES.hour, o),
      dom: dayOfMonthField(fields[3]!, o),
      months: plainField(fields[4]!, RULES.month, o),
      dow: dayOfWeekField(fields[5]!, o),
      years: yearList(plainField(yearText, RULES.year, o)),
      zone,
    };
    return { ok: true, spec };
  } catch (e) {
    if (e instanceof Problem) {
      return { ok: false, problem: e.problem };
    }
    throw e;
  }
}

const yearList = (set: boolean[]): number[] => {
  const out: number[] = [];
  for (let y = MIN_YEAR; y <= MAX_YEAR; y += 1) {
    if (set[y] === true) {
      out.push(y);
    }
  }
  return out;
};

/** A number or a name of the field. */
function value(text: string, rule: FieldRule, o: CronParseOptions): number {
  const upper = text.toUpperCase();
  if (rule.names !== undefined) {
    const i = rule.names.indexOf(upper);
    if (i >= 0) {
      return i + (rule.nameBase ?? 0);
    }
  }
  if (!/^\d+$/.test(text)) {
    throw new Problem(rule.field, `${rule.field} value ${text} is not a number${rule.names ? ' or a name' : ''}`);
  }
  if (o.strict && /^00/.test(text) && text.length > 1) {
    throw new Problem(rule.field, `${rule.field} value ${text} has more than one leading zero`);
  }
  const n = Number(text);
  if (n < rule.min || n > rule.max) {
    throw new Problem(rule.field, `${rule.field} value ${text} is out of range ${rule.min}-${rule.max}`);
  }
  return n;
}

/**
 * One list item of `* , - /` form: `*`, `?`, `v`, `a-b`, `*` stepped by `/n`, `v/n`, `a-b/n`. Returns the values
 * it selects, or 'all' for a bare `*` / `?`.
 */
function item(text: string, rule: FieldRule, o: CronParseOptions): number[] | 'all' {
  const wildcardOk = !o.strict || rule.field === 'dayOfMonth' || rule.field === 'dayOfWeek';
  if (text === '?' && !wildcardOk) {
    throw new Problem(rule.field, `${rule.field} cannot be ? (only dayOfMonth and dayOfWeek can)`);
  }
  if (text === '*' || text === '?') {
    return 'all';
  }
  const slash = text.split('/');
  if (slash.length > 2) {
    throw new Problem(rule.field, `${rule.field} item ${text} has more than one /`);
  }
  const [rangeText, stepText] = slash as [string, string | undefined];
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
      throw new Problem(rule.field, `${rule.field} step ${stepText} is not a positive number`);
    }
    step = Number(stepText);
  }
  let first: number;
  let last: number;
  if (rangeText === '*' || (rangeText === '?' && wildcardOk)) {
    first = rule.min;
    last = rule.max;
  } else {
    const dash = rangeText.split('-');
    if (dash.length > 2 || dash.some((d) => d === '')) {
      throw new Problem(rule.field, `${rule.field} item ${text} is not a value, a range or a step`);
    }
    first = value(dash[0]!, rule, o);
    if (dash.length === 2) {
      last = value(dash[1]!, rule, o);
      if (last < first) {
        throw new Problem(rule.field, `${rule.field} range ${rangeText} goes backwards`);
      }
    } else {
      // `v/n` runs from v to the end of the field; a bare `v` is just v.
      last = stepText !== undefined ? rule.max : first;
    }
  }
  const out: number[] = [];
  for (let v = first; v <= last; v += step) {
    out.push(v);
  }
  return out;
}

function plainField(text: string, rule: FieldRule, o: CronParseOptions): boolean[] {
  const set: boolean[] = [];
  for (const part of splitList(text, rule)) {
    const got = item(part, rule, o);
    for (const v of got === 'all' ? range(rule.min, rule.max) : got) {
      set[v] = true;
    }
  }
  return set;
}

function splitList(text: string, rule: FieldRule): string[] {
  const parts = text.split(',');
  if (parts.some((p) => p === '')) {
    throw new Problem(rule.field, `${rule.field} ${text} has an empty list item`);
  }
  return parts;
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

function dayOfMonthField(text: string, o: CronParseOptions): DaysOfMonth {
  const rule = RULES.dayOfMonth;
  const dom: DaysOfMonth = { all: false, days: [], last: false, lastWeekday: false, nearestWeekday: [] };
  for (const part of splitList(text, rule)) {
    const upper = part.toUpperCase();
    if (upper === 'L') {
      dom.last = true;
    } else if (upper === 'LW') {
      dom.lastWeekday = true;
    } else if (upper.endsWith('W')) {
      dom.nearestWeekday.push(value(part.slice(0, -1), rule, o));
    } else {
      const got = item(part, rule, o);
      if (got === 'all') {
        dom.all = true;
      } else {
        for (const v of got) {
          dom.days[v] = true;
        }
      }
    }
  }
  return dom;
}

function dayOfWeekField(text: string, o: CronParseOptions): DaysOfWeek {
  const rule = RULES.dayOfWeek;
  const dow: DaysOfWeek = { all: false, days: [], lastOf: [], nth: [] };
  for (const part of splitList(text, rule)) {
    const upper = part.toUpperCase();
    const hash = /^([^#]+)#(.*)$/.exec(part);
    if (hash !== null) {
      const [, d, n] = hash as unknown as [string, string, string];
      if (!/^[1-5]$/.test(n)) {
        throw new Problem(rule.field, `dayOfWeek ${part}: the number after # must be 1-5`);
      }
      dow.nth.push([value(d, rule, o) % 7, Number(n)]);
    } else if (upper.length > 1 && upper.endsWith('L')) {
      dow.lastOf.push(value(part.slice(0, -1), rule, o) % 7);
    } else if (upper === 'L') {
      throw new Problem(rule.field, 'dayOfWeek L needs a weekday before it, e.g. 5L');
    } else {
      const got = item(part, rule, o);
      if (got === 'all') {
        dow.all = true;
      } else {
        for (const v of got) {
          dow.days[v % 7] = true;
        }
      }
    }
  }
  return dow;
}

// ---------------------------------------------------------------------------------------------
// Next fire time

const daysInMonth = (y: number, m: number): number => new Date(Date.UTC(y, m, 0)).getUTCDate();
const weekday = (y: number, m: number, d: number): number => new Date(Date.UTC(y, m - 1, d)).getUTCDay();

/** `nW`: the weekday nearest to day n without leaving the month; undefined when n is past the month. */
export function nearestWeekday(y: number, m: number, n: number): number | undefined {
  const dim = daysInMonth(y, m);
  if (n > dim) {
    return undefined;
  }
  switch (weekday(y, m, n)) {
    case 6:
      return n === 1 ? 3 : n - 1;
    case 0:
      return n === dim ? n - 2 : n + 1;
    default:
      return n;
  }
}

function lastWeekday(y: number, m: number): number {
  const dim = daysInMonth(y, m);
  const wd = weekday(y, m, dim);
  return wd === 6 ? dim - 1 : wd === 0 ? dim - 2 : dim;
}

/** Whether day d of month m matches; both fields restricted means either may match (cronexpr). */
export function dayMatches(spec: CronSpec, y: number, m: number, d: number): boolean {
  const { dom, dow } = spec;
  if (dom.all && dow.all) {
    return true;
  }
  const domMatch = (): boolean =>
    dom.days[d] === true ||
    (dom.last && d === daysInMonth(y, m)) ||
    (dom.lastWeekday && d === lastWeekday(y, m)) ||
    dom.nearestWeekday.some((n) => nearestWeekday(y, m, n) === d);
  const dowMatch = (): boolean => {
    const wd = weekday(y, m, d);
    return (
      dow.days[wd] === true ||
      (dow.lastOf.includes(wd) && d + 7 > daysInMonth(y, m)) ||
      dow.nth.some(([w, n]) => w === wd && Math.ceil(d / 7) === n)
    );
  };
  if (dom.all) {
    return dowMatch();
  }
  if (dow.all) {
    return domMatch();
  }
  return domMatch() || dowMatch();
}

/**
 * The first wall-clock time (naive ms, whole seconds) at or after `naiveStart` that matches, or
 * undefined when there is none before 2100. Field by field: each mismatch jumps to the start of
 * the next unit of that field, so a yearly expression takes a few hundred steps, not millions.
 */
export function nextNaive(spec: CronSpec, naiveStart: number): number | undefined {
  let t = Math.ceil(naiveStart / 1000) * 1000;
  for (;;) {
    const at = new Date(t);
    const y = at.getUTCFullYear();
    const mo = at.getUTCMonth() + 1;
    const d = at.getUTCDate();
    const h = at.getUTCHours();
    const mi = at.getUTCMinutes();
    const s = at.getUTCSeconds();
    if (!spec.years.includes(y)) {
      const ny = spec.years.find((v) => v > y);
      if (ny === undefined) {
        return undefined;
      }
      t = Date.UTC(ny, 0, 1);
    } else if (spec.months[mo] !== true) {
      t = Date.UTC(y, mo, 1);
    } else if (!dayMatches(spec, y, mo, d)) {
      t = Date.UTC(y, mo - 1, d + 1);
    } else if (spec.hours[h] !== true) {
      t = Date.UTC(y, mo - 1, d, h + 1);
    } else if (spec.minutes[mi] !== true) {
      t = Date.UTC(y, mo - 1, d, h, mi + 1);
    } else if (spec.seconds[s] !== true) {
      t = Date.UTC(y, mo - 1, d, h, mi, s + 1);
    } else {
      return t;
    }
  }
}

/**
 * The first instant strictly after `afterMs` whose wall clock in `zone` matches. The search walks
 * the wall clock from the one at `afterMs`: a time in a spring-forward gap fires shifted forward by
 * the gap (as Go's time.Date gives it), and a repeated fall-back time fires once, at its first
 * occurrence still after `afterMs`.
 */
export function nextCronInstant(spec: CronSpec, zone: Zone, afterMs: number): number | null {
  const startUtc = Math.floor(afterMs / 1000) * 1000 + 1000;
  let naive = toNaive(zone, startUtc);
  for (let guard = 0; guard < 100_000; guard += 1) {
    const match = nextNaive(spec, naive);
    if (match === undefined) {
      return null;
    }
    const instant = fromNaive(zone, match).instants.find((t) => t > afterMs);
    if (instant !== undefined) {
      return instant;
    }
    naive = match + 1000;
  }
  return null;
}
