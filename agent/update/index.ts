// Self-update: the agent's periodic update_check and the updater (aliyun_assist_update) that
// stages, verifies, switches, health-checks and rolls back (spec/client-features.md §7).
export { requestUpdateCheck, updateCheckRequest } from './check.js';
export { decideUpdate, healthVerdict, type HealthVerdict, type SkipReason, type UpdateDecision } from './policy.js';
export { DEFAULT_UPDATE_INTERVAL_MS, SelfUpdate, type SelfUpdateOptions } from './self-update.js';
export { checkExecutable, fileDigests, stagePackage, type PackageRef, type Staged } from './stage.js';
export { isUpdateError, UpdateError, type UpdateFailureKind } from './update-errors.js';
export { updateBlocker, UPDATER_NAME, type UpdateTrigger } from './update-flags.js';
export { UpdateState, type BadVersions, type PendingSwitch, type StartedMark } from './update-state.js';
export {
  DEFAULT_UPDATER_SETTINGS,
  HEALTH_TIMEOUT_ENV,
  loadUpdaterSettings,
  supervisorOf,
  type Supervisor,
  type UpdaterSettings,
} from './updater-config.js';
export { runUpdater, type UpdateOutcome, type UpdaterOptions } from './updater.js';
export { activeVersion, installedVersions } from './versions.js';
export { extractZip, UnsafeZipError } from './safe-unzip.js';
export { downloadPackage, type Downloaded } from './download.js';
