// The Run page's schedule: the form's choice → RepeatMode + Frequency, and a preview of the next
// fire times computed by the same module the control plane validates Frequency with.
import { nextFireTimes, parseFrequency } from '../../../protocol/index.js';

export type RepeatMode = 'Once' | 'Period' | 'NextRebootOnly' | 'EveryReboot';
export type RateUnit = 's' | 'm' | 'h' | 'd';

export type ScheduleChoice =
  | { mode: Exclude<RepeatMode, 'Period'> }
  | { mode: 'Period'; kind: 'rate'; every: number; unit: RateUnit }
  /** `local` is a datetime-local value (`2025-05-17T17:30` or with seconds). */
  | { mode: 'Period'; kind: 'at'; local: string; timeZone: string }
  | { mode: 'Period'; kind: 'cron'; expression: string };

/** The `Frequency` parameter for a choice ('' when the mode takes none). */
export function frequencyOf(c: ScheduleChoice): string {
  if (c.mode !== 'Period') {
    return '';
  }
  switch (c.kind) {
    case 'rate':
      return `rate(${c.every}${c.unit})`;
    case 'at': {
      const [date = '', time = ''] = c.local.split('T');
      const hms = time.length === 5 ? `${time}:00` : time;
      return `at(${date} ${hms}${c.timeZone ? ` ${c.timeZone}` : ''})`;
    }
    case 'cron':
      return c.expression.trim();
  }
}

export type Preview = { ok: true; times: number[]; timeZone: string } | { ok: false; message: string };

/** The next `count` fire times of a Frequency, or the reason the control plane would refuse it. */
export function previewFireTimes(
  frequency: string,
  o: { timeoutSeconds: number; nowMs: number; defaultTimeZone: string; count?: number },
): Preview {
  if (frequency === '') {
    return { ok: false, message: 'Enter a frequency.' };
  }
  const r = parseFrequency(frequency, o);
  if (!r.ok) {
    return { ok: false, message: `${r.problem.code}: ${r.problem.message}` };
  }
  const times = nextFireTimes(r.value.schedule, o.nowMs, o.count ?? 5);
  return { ok: true, times, timeZone: r.value.schedule.timeZone };
}
