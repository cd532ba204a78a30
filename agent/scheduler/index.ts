// agent/scheduler: periodic tasks (cron, rate, at) on timers that submit runs to the task engine.
export { TIMER_CHUNK_MS, systemClock, type ClockPort } from './clock.js';
export {
  Scheduler,
  systemTimeZoneName,
  type RunHandle,
  type RunPool,
  type RunSummary,
  type SchedulerOptions,
} from './scheduler.js';
