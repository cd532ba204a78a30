// The agent's reading of a periodic task's `repeat` + `cron` (luban §5.4), with the stock error codes.
import type { Schedule, ScheduleModule, WireScheduleKind } from './contract.js';
import { nextCronInstant, parseCron, type CronSpec } from './cron.js';
import { MAX_WIRE_RATE_MS, atSchedule, parseWireAt, ratePeriodMs, rateSchedule } from './rate-at.js';
import { systemZone, type Zone } from './zone.js';

export function cronSchedule(spec: CronSpec, zone: Zone): Schedule {
  return { kind: 'Period', timeZone: zone.name, next: (afterMs) => nextCronInstant(spec, zone, afterMs) };
}

export const parseWireSchedule: ScheduleModule['parseWireSchedule'] = (
  kind: WireScheduleKind,
  cron: string,
  creationTimeMs: number,
  nowMs: number,
  systemTimeZone: string | Zone,
) => {
  switch (kind) {
    case 'Period': {
      const parsed = parseCron(cron, { strict: false });
      if (!parsed.ok) {
        return { ok: false, code: parsed.problem.code, message: parsed.problem.message };
      }
      const schedule = cronSchedule(
        parsed.spec,
        parsed.spec.zone ?? (typeof systemTimeZone === 'string' ? systemZone(systemTimeZone) : systemTimeZone),
      );
      if (schedule.next(nowMs) === null) {
        return { ok: false, code: 'CronExpressionExpired', message: `cron ${cron} has no future fire time` };
      }
      return { ok: true, schedule };
    }
    case 'Rate': {
      const period = ratePeriodMs(cron);
      if (period === undefined || period <= 0) {
        return { ok: false, code: 'InvalidRateExpression', message: `${cron} is not rate(<n><s|m|h|d>) with n > 0` };
      }
      if (period > MAX_WIRE_RATE_MS) {
        return { ok: false, code: 'RateFrequencyTooLarge', message: `${cron} is longer than 1000 days` };
      }
      return { ok: true, schedule: rateSchedule(period, creationTimeMs) };
    }
    case 'At': {
      const at = cron.length < 4 ? undefined : parseWireAt(cron);
      if (at === undefined) {
        return { ok: false, code: 'InvalidAtExpression', message: `${cron} is not at(YYYY-MM-DDTHH:MM:SS)` };
      }
      if (at <= nowMs) {
        return { ok: false, code: 'AtExpressionExpired', message: `${cron} is in the past` };
      }
      return { ok: true, schedule: atSchedule(at) };
    }
  }
};

export const nextFireTimes: ScheduleModule['nextFireTimes'] = (schedule, fromMs, count) => {
  const out: number[] = [];
  let after = fromMs;
  while (out.length < count) {
    const next = schedule.next(after);
    if (next === null) {
      break;
    }
    out.push(next);
    after = next;
  }
  return out;
};

/**
 * The wall-clock extras of a report (luban §5.6) for a zone name: UTC offset in seconds (east
 * positive) at that instant. Unknown names count as UTC.
 */
export function offsetSecondsAt(timeZone: string, atMs: number): number {
  return Math.round(systemZone(timeZone).offsetMs(atMs) / 1000);
}
