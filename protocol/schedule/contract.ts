// The contract of the schedule-expression module, fixed up front so that the agent's scheduler
// and the control plane's Frequency validation can be built against it at the same time.
// Everything here is pure: no timers, no I/O; "now" is always passed in.

/** A time zone as schedules use it: a name and its offset at any instant. */
export interface Zone {
  /** The name as written (`Asia/Shanghai`, `GMT+8:00`, `UTC`). */
  readonly name: string;
  /** Offset from UTC at that instant, in ms (east positive). */
  offsetMs(utcMs: number): number;
}

/** Codes the agent reports in `/task/invalid?param=cron&value=<code>` (luban-protocol §5.4). */
export type WireScheduleErrorCode =
  | 'InvalidCronExpression'
  | 'CronExpressionExpired'
  | 'TimezoneInformationCorrupt'
  | 'InvalidGMTOffsetForTimezone'
  | 'InvalidGMTOffsetHourForTimezone'
  | 'InvalidGMTOffsetMinuteForTimezone'
  | 'InvalidRateExpression'
  | 'RateFrequencyTooLarge'
  | 'InvalidAtExpression'
  | 'AtExpressionExpired';

/** The periodic repeat kinds of the wire task (`repeat` field). */
export type WireScheduleKind = 'Period' | 'Rate' | 'At';

/** A parsed schedule: a pure function from an instant to the next fire instant. */
export interface Schedule {
  readonly kind: WireScheduleKind;
  /** IANA zone or fixed offset name the expression is evaluated in ('UTC' for rate/at). */
  readonly timeZone: string;
  /** The first fire time strictly after `afterMs` (epoch ms), or null when there is none. */
  next(afterMs: number): number | null;
}

/**
 * Why an operator's `Frequency` was refused (openapi.md § Schedules). `code` is the OpenAPI error
 * code (`InvalidParameter.Frequency`, `InvalidParameter.RateFrequency`, …); `field` names the
 * offending part (`second`, `dayOfMonth`, `year`, `timeZone`, `rate`, `at`, `spacing`, …);
 * `message` is one sentence an operator can act on.
 */
export interface FrequencyProblem {
  readonly code: string;
  readonly field: string;
  readonly message: string;
}

/** An accepted operator `Frequency`, converted to what the agent gets on the wire. */
export interface AcceptedFrequency {
  readonly repeat: WireScheduleKind;
  /** The task's `cron` field exactly as the stock agent parses it (luban-protocol §5.4). */
  readonly wireCron: string;
  readonly schedule: Schedule;
}

export interface ScheduleModule {
  /** Agent side: parse a wire task's `repeat` + `cron` (+ `creationTime` for Rate). */
  parseWireSchedule(
    kind: WireScheduleKind,
    cron: string,
    creationTimeMs: number,
    nowMs: number,
    /** The zone of a cron expression that names none: a name, or the agent's own zone object. */
    systemTimeZone: string | Zone,
  ): { ok: true; schedule: Schedule } | { ok: false; code: WireScheduleErrorCode; message: string };
  /** Control-plane side: validate an operator `Frequency` with the product limits. */
  parseFrequency(
    frequency: string,
    options: { timeoutSeconds: number; nowMs: number; defaultTimeZone: string },
  ): { ok: true; value: AcceptedFrequency } | { ok: false; problem: FrequencyProblem };
  /** The next `count` fire times strictly after `fromMs` (fewer when the schedule ends). */
  nextFireTimes(schedule: Schedule, fromMs: number, count: number): number[];
}
