// protocol/schedule: schedule expressions (cron, rate, at) for the agent's timers and the control
// plane's Frequency validation. Pure: "now" is always passed in.
import type { ScheduleModule } from './contract.js';
import { parseFrequency } from './frequency.js';
import { nextFireTimes, parseWireSchedule } from './wire.js';

export type {
  AcceptedFrequency,
  FrequencyProblem,
  Schedule,
  ScheduleModule,
  WireScheduleErrorCode,
  WireScheduleKind,
  Zone,
} from './contract.js';
export { FrequencyCode, MAX_RATE_S, MIN_CRON_SPACING_S, MIN_RATE_S, parseFrequency } from './frequency.js';
export { formatWireAt } from './rate-at.js';
export { nextFireTimes, offsetSecondsAt, parseWireSchedule } from './wire.js';

/** The whole module as one value, for callers that take it as a port. */
export const scheduleModule: ScheduleModule = { parseWireSchedule, parseFrequency, nextFireTimes };
