// agent/executor: runs one script process with timeout, cancel and whole-process-tree kill
// (process group; on Linux also a cgroup per run, through the ProcessContainment port).
// A leaf module (DESIGN.md §2): it knows nothing of tasks, the protocol or the control plane.
export {
  DEFAULT_KILL_GRACE_MS,
  killTree,
  runProcess,
  type ExecOutcome,
  type OutputSink,
  type ProcessSpec,
  type RunningProcess,
} from './run-process.js';
export {
  processGroupOnly,
  type ContainmentCell,
  type ContainmentKind,
  type ProcessContainment,
} from './containment.js';
export {
  CgroupContainment,
  detectContainment,
  type ContainmentWarn,
  type DetectContainmentOptions,
  type DetectedContainment,
} from './cgroup-containment.js';
export {
  SETPRIV_CANDIDATES,
  findSetpriv,
  setprivLaunch,
  windowsLauncherScript,
  windowsLogonLaunch,
  windowsQuoteArg,
  type Command,
  type Launch,
  type PosixIdentity,
  type WindowsLogon,
} from './run-as.js';
export {
  scriptCommand,
  scriptPrelude,
  type ScriptCommand,
  type ScriptExtension,
  type ScriptType,
} from './script-command.js';
export { IdleReclaimer, type IdleReclaimOptions } from './memory-reclaim.js';
