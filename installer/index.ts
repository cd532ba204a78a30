// installer: renders the service-manager files of the agent and the watchdog from service-units/
// and drives systemd, upstart, sysvinit and the Windows SCM through one ServiceManager interface.
export { detectInitSystem, nodeInitProbes, type InitProbes } from './detect.js';
export { InstallerError, isInstallerError, type InstallerErrorCode } from './errors.js';
export {
  createServiceManager,
  mustRun,
  restartIfInstalled,
  WINDOWS_RECOVERY,
  type ServiceManager,
  type ServiceState,
  type ServiceStatus,
} from './managers/index.js';
export { nodeServiceHost, runCommand } from './node-host.js';
export type { CommandResult, CommandRunner, ServiceFiles, ServiceHost } from './ports.js';
export { renderServiceFiles, serviceFilePath, windowsFiles, type RenderedFile } from './render.js';
export { agentSelfCommand, type SelfProcess } from './self-command.js';
export {
  DEFAULT_WATCHDOG_BINARY,
  INIT_SYSTEMS,
  isInitSystem,
  serviceIdentity,
  serviceLayout,
  STOP_TIMEOUT_SEC,
  validateSpec,
  watchdogServiceSpec,
  type InitSystem,
  type ServiceIdentity,
  type ServiceKind,
  type ServiceLayout,
  type ServiceSpec,
} from './spec.js';
export { renderTemplate, shQuote, systemdExec, windowsArg, xmlEscape } from './template.js';
