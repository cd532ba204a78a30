// The operator API's `Frequency` (openapi.md § Schedules): rate, at and Quartz cron forms with the
// product limits, converted to what the agent gets on the wire (luban §5.4).
import type { AcceptedFrequency, FrequencyProblem, ScheduleModule } from './contract.js';
import { parseCron } from './cron.js';
import { atSchedule, formatWireAt, naiveFromFields, ratePeriodMs, rateSchedule } from './rate-at.js';
import { nextFireTimes, cronSchedule } from './wire.js';
import { fromNaive, parseZone, systemZone } from './zone.js';

/** The error codes parseFrequency returns (docs/api-errors.md). */
export const FrequencyCode = {
  Frequency: 'InvalidParameter.Frequency',
  Rate: 'InvalidParameter.RateFrequency',
  At: 'InvalidParameter.AtFrequency',
} as const;

export const MIN_RATE_S = 60;
export const MAX_RATE_S = 7 * 86_400;
/** Consecutive cron fire times must be at least this far apart (and at least the timeout). */
export const MIN_CRON_SPACING_S = 10;
/** How many upcoming fire times the spacing check looks at. */
export const SPACING_WINDOW = 100;

type Result = ReturnType<ScheduleModule['parseFrequency']>;
type Options = Parameters<ScheduleModule['parseFrequency']>[1];

const refuse = (code: string, field: string, message: string): Result => ({
  ok: false,
  problem: { code, field, message: `Frequency: ${message}` } satisfies FrequencyProblem,
});
const accept = (value: AcceptedFrequency): Result => ({ ok: true, value });
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

export const parseFrequency: ScheduleModule['parseFrequency'] = (frequency, o) => {
  const text = frequency.trim();
  if (text === '') {
    return refuse(FrequencyCode.Frequency, 'expression', 'is empty; give rate(…), at(…) or a cron expression');
  }
  if (/^rate\s*\(/i.test(text)) {
    return parseRate(text, o);
  }
  if (/^at\s*\(/i.test(text)) {
    return parseAt(text, o);
  }
  return parseOperatorCron(text, o);
};

function parseRate(text: string, o: Options): Result {
  const periodMs = ratePeriodMs(text);
  if (periodMs === undefined) {
    return refuse(FrequencyCode.Rate, 'rate', `${text} is not rate(<n><s|m|h|d>), e.g. rate(5m)`);
  }
  const s = periodMs / 1000;
  if (s < MIN_RATE_S) {
    return refuse(FrequencyCode.Rate, 'rate', `the rate interval ${s} s is shorter than ${MIN_RATE_S} s`);
  }
  if (s > MAX_RATE_S) {
    return refuse(FrequencyCode.Rate, 'rate', `the rate interval ${s} s is longer than 7 days (${MAX_RATE_S} s)`);
  }
  if (s <= o.timeoutSeconds) {
    return refuse(
      FrequencyCode.Rate,
      'rate',
      `the rate interval ${s} s must be longer than the timeout of ${o.timeoutSeconds} s`,
    );
  }
  const m = /\((\d+)\s*([smhd])\)$/i.exec(text)!;
  return accept({
    repeat: 'Rate',
    wireCron: `rate(${Number(m[1])}${m[2]!.toLowerCase()})`,
    schedule: rateSchedule(periodMs, o.nowMs),
  });
}

/** `YYYY-MM-DD HH:MM:SS [zone]` or `YYYY-MM-DDTHH:MM:SS[Z|±HH:MM| zone]` inside `at(…)`. */
const AT_BODY = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:(Z)|([+-])(\d{2}):?(\d{2})|\s+(\S+))?$/i;

function parseAt(text: string, o: Options): Result {
  const inner = /^at\s*\((.*)\)$/is.exec(text);
  const m = inner === null ? null : AT_BODY.exec(inner[1]!.trim());
  if (m === null) {
    return refuse(
      FrequencyCode.At,
      'at',
      `${text} is not at(YYYY-MM-DD HH:MM:SS [time zone]) or at(YYYY-MM-DDTHH:MM:SS±HH:MM)`,
    );
  }
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const naive = naiveFromFields(y, mo, d, h, mi, s);
  if (naive === undefined) {
    return refuse(FrequencyCode.At, 'at', `${text} is not a valid date and time`);
  }
  let atMs: number;
  if (m[7] !== undefined) {
    atMs = naive;
  } else if (m[8] !== undefined) {
    const offH = Number(m[9]);
    const offM = Number(m[10]);
    if (offH > 14 || offM > 59) {
      return refuse(FrequencyCode.At, 'timeZone', `the offset ${m[8]}${m[9]}:${m[10]} of ${text} is out of range`);
    }
    atMs = naive - (m[8] === '-' ? -1 : 1) * (offH * 3_600_000 + offM * 60_000);
  } else {
    let zone = systemZone(o.defaultTimeZone);
    if (m[11] !== undefined) {
      const z = parseZone(m[11]);
      if (!z.ok) {
        return refuse(FrequencyCode.At, 'timeZone', `the time zone ${m[11]} of ${text} is unknown`);
      }
      zone = z.zone;
    }
    atMs = fromNaive(zone, naive).instants[0]!;
  }
  if (atMs <= o.nowMs) {
    return refuse(FrequencyCode.At, 'expired', `${text} (${iso(atMs)}) is not in the future`);
  }
  return accept({ repeat: 'At', wireCron: formatWireAt(atMs), schedule: atSchedule(Math.floor(atMs / 1000) * 1000) });
}

function parseOperatorCron(text: string, o: Options): Result {
  const parsed = parseCron(text, { strict: true });
  if (!parsed.ok) {
    return refuse(FrequencyCode.Frequency, parsed.problem.field, parsed.problem.message);
  }
  const schedule = cronSchedule(parsed.spec, parsed.spec.zone ?? systemZone(o.defaultTimeZone));
  const times = nextFireTimes(schedule, o.nowMs, SPACING_WINDOW);
  if (times.length === 0) {
    return refuse(FrequencyCode.Frequency, 'expired', `${text} has no fire time after ${iso(o.nowMs)}`);
  }
  const minSpacingS = Math.max(MIN_CRON_SPACING_S, o.timeoutSeconds);
  for (let i = 1; i < times.length; i += 1) {
    const gapS = (times[i]! - times[i - 1]!) / 1000;
    if (gapS < minSpacingS) {
      return refuse(
        FrequencyCode.Frequency,
        'spacing',
        `${text} fires at ${iso(times[i - 1]!)} and ${iso(times[i]!)}, ${gapS} s apart; ` +
          `runs must be at least ${minSpacingS} s apart (10 s and the timeout)`,
      );
    }
  }
  return accept({ repeat: 'Period', wireCron: text.split(/\s+/).join(' '), schedule });
}
