// agent/tasks: fetches the task list and runs one-shot tasks with the stock lifecycle reports,
// a bounded pool, a durable outbox of final reports and a journal of running tasks.
export {
  DEFAULT_MAX_QUEUED,
  DEFAULT_MAX_RUNNING,
  QUEUE_FULL_CODE,
  TaskEngine,
  type FetchOptions,
  type PeriodicPort,
  type PeriodicRunHandle,
  type TaskEngineOptions,
} from './task-engine.js';
export { SystemPower, powerActionFor, powerCommands, type PowerAction, type PowerPort } from './power.js';
export {
  defaultRunAs,
  lookupUser,
  posixRunAs,
  spawnIdentity,
  taskEnv,
  UserLookupError,
  windowsRunAs,
  type RunAsPort,
  type TaskUser,
} from './run-as-user.js';
export { INSTANCE_RESTARTED_CODE, INSTANCE_RESTARTED_DESC } from './running-journal.js';
export { PERIODIC_REPEATS, type RunSummary } from './task-runner.js';
export { type SendFilePort } from './file-tasks.js';
