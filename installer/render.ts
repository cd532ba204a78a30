// Pure rendering of a service's files for one service manager: (manager, spec, layout) → files.
// Nothing here touches the system; the managers write what this returns.
import { posix, win32 } from 'node:path';
import { TEMPLATES, type TemplateName } from '../service-units/index.js';
import {
  serviceIdentity,
  serviceLayout,
  validateSpec,
  type InitSystem,
  type ServiceIdentity,
  type ServiceLayout,
  type ServiceSpec,
} from './spec.js';
import {
  renderTemplate,
  shCommand,
  shQuote,
  systemdEnvAssignment,
  systemdExec,
  systemdPath,
  windowsArg,
  xmlEscape,
} from './template.js';

export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
}

/** The file the service manager reads the service from (the unit, job, init script or WinSW XML). */
export function serviceFilePath(init: InitSystem, spec: ServiceSpec, layout: ServiceLayout = serviceLayout()): string {
  const { name } = serviceIdentity(init, spec.kind);
  switch (init) {
    case 'systemd':
      return posix.join(layout.systemdUnitDir, `${name}.service`);
    case 'upstart':
      return posix.join(layout.upstartJobDir, `${name}.conf`);
    case 'sysvinit':
      return posix.join(layout.initScriptDir, name);
    case 'windows':
      return windowsFiles(spec, name).xml;
  }
}

/** Where WinSW and its XML sit: next to the agent executable (`<VER>\AliyunService.exe`, `.xml`). */
export function windowsFiles(spec: ServiceSpec, name: string): { wrapper: string; xml: string; dir: string } {
  const dir = win32.dirname(spec.command[0] ?? '');
  return { dir, wrapper: win32.join(dir, `${name}.exe`), xml: win32.join(dir, `${name}.xml`) };
}

export function renderServiceFiles(
  init: InitSystem,
  spec: ServiceSpec,
  layout: ServiceLayout = serviceLayout(),
): RenderedFile[] {
  validateSpec(init, spec);
  const id = serviceIdentity(init, spec.kind);
  const path = serviceFilePath(init, spec, layout);
  switch (init) {
    case 'systemd':
      return [{ path, mode: 0o644, content: render(systemdTemplate(spec), systemdValues(spec, id, layout)) }];
    case 'upstart':
      return [{ path, mode: 0o644, content: render('upstart/job.conf', shellValues(spec, id, layout, path)) }];
    case 'sysvinit':
      return [{ path, mode: 0o755, content: render('sysvinit/init-script', shellValues(spec, id, layout, path)) }];
    case 'windows':
      return [{ path, mode: 0o644, content: render('windows/AliyunService.xml', windowsValues(spec, id)) }];
  }
}

const render = (name: TemplateName, values: Record<string, string>): string => renderTemplate(TEMPLATES[name], values);

const systemdTemplate = (spec: ServiceSpec): TemplateName =>
  spec.kind === 'agent' ? 'systemd/aliyun.service' : 'systemd/assist_daemon.service';

function systemdValues(spec: ServiceSpec, id: ServiceIdentity, layout: ServiceLayout): Record<string, string> {
  return {
    unit: `${id.name}.service`,
    version: spec.version,
    binary: systemdPath(spec.command[0]!),
    execStart: systemdExec(spec.command),
    user: spec.user ?? 'root',
    installDirEnv: systemdEnvAssignment('ALIYUN_ASSIST_INSTALL_DIR', spec.installDir),
    envFile: systemdPath(posix.join(layout.sysconfigDir, 'aliyun')),
    serviceEnvFile: systemdPath(posix.join(layout.sysconfigDir, id.serviceEnvFileName)),
    stopTimeoutSec: String(id.stopTimeoutSec),
  };
}

/** upstart jobs and sysvinit scripts are sh: every value is a quoted sh word. */
function shellValues(
  spec: ServiceSpec,
  id: ServiceIdentity,
  layout: ServiceLayout,
  file: string,
): Record<string, string> {
  const logBase = posix.join(layout.logDir, id.name);
  return {
    jobFile: file,
    scriptFile: file,
    name: id.name,
    program: id.program,
    description: id.description,
    version: spec.version,
    startPriority: id.startPriority,
    stopPriority: id.stopPriority,
    stopTimeoutSec: String(id.stopTimeoutSec),
    normalExit: id.normalExit,
    execStart: shCommand(spec.command),
    processMatch: shQuote(spec.command.join(' ')),
    installDir: shQuote(spec.installDir),
    envFile: shQuote(posix.join(layout.sysconfigDir, 'aliyun')),
    serviceEnvFile: shQuote(posix.join(layout.sysconfigDir, id.serviceEnvFileName)),
    pidFile: shQuote(posix.join(layout.runDir, `${id.name}.pid`)),
    lockFile: shQuote(posix.join(layout.lockDir, id.name)),
    logFile: shQuote(`${logBase}.log`),
    errFile: shQuote(`${logBase}.err`),
  };
}

function windowsValues(spec: ServiceSpec, id: ServiceIdentity): Record<string, string> {
  const files = windowsFiles(spec, id.name);
  const values: Record<string, string> = {
    name: id.name,
    displayName: 'Aliyun Assist Service',
    description: '阿里云助手',
    version: spec.version,
    binary: spec.command[0]!,
    arguments: spec.command.slice(1).map(windowsArg).join(' '),
    workingDirectory: files.dir,
    installDir: spec.installDir,
    stopTimeoutSec: String(id.stopTimeoutSec),
    logDirectory: win32.join(files.dir, 'log'),
  };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, xmlEscape(v)]));
}
