// Schedule rules of invocations (spec/openapi.md § Schedules): which RepeatMode an invocation has,
// whether its Frequency is acceptable, and what its agent gets on the wire. Pure.
import { FrequencyCode, parseFrequency, type WireScheduleKind } from '../../protocol/index.js';
import { ApiError, missing, type ApiErrorCode } from '../shared/index.js';

export const REPEAT_MODES = ['Once', 'Period', 'NextRebootOnly', 'EveryReboot'] as const;
export type RepeatMode = (typeof REPEAT_MODES)[number];

/** What an invocation stores about its schedule. */
export interface ScheduleSettings {
  repeatMode: RepeatMode;
  /** The operator's Frequency as given ('' unless Period). */
  frequency: string;
  /** `repeat` and `cron` of the wire task ('' unless Period). */
  wireRepeat: WireScheduleKind | '';
  wireCron: string;
  /** DescribeInvocations' `Timed`: the invocation runs later than its creation. */
  timed: boolean;
}

/** Periodic on the agent: on a timer there, re-sent on every startup fetch while active. */
export const isPeriodic = (repeatMode: string): boolean => repeatMode === 'Period';
/** Delivered on a cold start only; never at creation. */
export const isBootTime = (repeatMode: string): boolean =>
  repeatMode === 'NextRebootOnly' || repeatMode === 'EveryReboot';
/** Each run is its own record (`invocation_runs`); the execution stays active until stopped. */
export const runsSeparately = (repeatMode: string): boolean => repeatMode === 'Period' || repeatMode === 'EveryReboot';

/** The codes a refused Frequency carries (the parser's FrequencyCode, all in errors.ts). */
const FREQUENCY_CODES: readonly string[] = Object.values(FrequencyCode) satisfies readonly ApiErrorCode[];

/** The control plane's own zone: what a cron without a zone is checked in (the agent uses its own). */
export const serverTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/**
 * The schedule of a new invocation. A Frequency makes it Period whatever RepeatMode says (the
 * product rule); Period needs one. The Frequency is checked against the product limits with the
 * invocation's timeout; a refusal names the offending part.
 */
export function resolveSchedule(
  input: { repeatMode: string; frequency: string | undefined; timeoutSeconds: number },
  nowMs: number,
  defaultTimeZone: string = serverTimeZone(),
): ScheduleSettings {
  const frequency = input.frequency?.trim() ?? '';
  const repeatMode = frequency !== '' ? 'Period' : input.repeatMode || 'Once';
  if (!(REPEAT_MODES as readonly string[]).includes(repeatMode)) {
    throw new ApiError(
      'InvalidParameter.RepeatMode',
      `RepeatMode ${repeatMode} is not supported; use Once, Period, NextRebootOnly or EveryReboot.`,
    );
  }
  if (repeatMode !== 'Period') {
    return {
      repeatMode: repeatMode as RepeatMode,
      frequency: '',
      wireRepeat: '',
      wireCron: '',
      timed: repeatMode !== 'Once',
    };
  }
  if (frequency === '') {
    throw missing('Frequency');
  }
  const wire = checkFrequency(frequency, input.timeoutSeconds, nowMs, defaultTimeZone);
  return { repeatMode: 'Period', frequency, ...wire, timed: true };
}

/** Validates a Frequency (RunCommand, InvokeCommand, ModifyInvocationAttribute); returns its wire form. */
export function checkFrequency(
  frequency: string,
  timeoutSeconds: number,
  nowMs: number,
  defaultTimeZone: string = serverTimeZone(),
): { wireRepeat: WireScheduleKind; wireCron: string } {
  const r = parseFrequency(frequency, { timeoutSeconds, nowMs, defaultTimeZone });
  if (!r.ok) {
    const code = FREQUENCY_CODES.includes(r.problem.code) ? (r.problem.code as ApiErrorCode) : FrequencyCode.Frequency;
    // The parser's message names Frequency and says what to change; `field` is the part at fault.
    throw new ApiError(code, `${r.problem.message} (${r.problem.field})`);
  }
  return { wireRepeat: r.value.repeat, wireCron: r.value.wireCron };
}
