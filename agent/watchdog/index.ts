// assist_daemon: supervises the agent process (restart with crash-loop backoff, resource budget,
// health), reports its status in a file, and is controlled through its pid file.
export {
  acquirePidFile,
  deleteWatchdog,
  formatStatus,
  probeWatchdog,
  stopWatchdog,
  type ControlFiles,
  type StopOptions,
  type StopResult,
  type WatchdogProbe,
} from './control.js';
export {
  AgentMonitor,
  CrashBackoff,
  DEFAULT_BACKOFF,
  type BackoffPolicy,
  type Budget,
  type Observation,
  type RestartReason,
  type Verdict,
} from './policy.js';
export {
  CLOCK_TICKS_PER_SECOND,
  cpuPercent,
  parseChildren,
  parseProcStat,
  parseProcStatus,
  readProcSnapshot,
  type ProcSnapshot,
  type ProcStat,
  type ProcStatus,
} from './proc-stats.js';
export { readStatusFile, type WatchdogState, type WatchdogStatus } from './status-file.js';
export { runWatchdog, type WatchdogEvent, type WatchdogOptions, type WatchdogSummary } from './supervisor.js';
export {
  DEFAULT_PSS_BUDGET_MIB,
  DEFAULT_RSS_BUDGET_MIB,
  DEFAULT_STATE_DIR,
  loadWatchdogConfig,
  loadWatchdogFiles,
  resolveAgentCommand,
  WATCHDOG_ENV,
  type AgentCommand,
  type AgentSource,
  type WatchdogConfig,
  type WatchdogFiles,
  type WatchdogFlags,
} from './watchdog-config.js';
