import type { ServiceHost } from '../ports.js';
import { serviceLayout, type InitSystem, type ServiceLayout, type ServiceSpec } from '../spec.js';
import type { ServiceManager } from './service-manager.js';
import { SystemdManager } from './systemd.js';
import { SysvinitManager } from './sysvinit.js';
import { UpstartManager } from './upstart.js';
import { WindowsManager } from './windows.js';

export {
  mustRun,
  restartIfInstalled,
  type ServiceManager,
  type ServiceState,
  type ServiceStatus,
} from './service-manager.js';
export { WINDOWS_RECOVERY } from './windows.js';

/** The manager of `spec`'s service under `init`; `layout` moves the Linux managers' files under another root. */
export function createServiceManager(
  init: InitSystem,
  spec: ServiceSpec,
  host: ServiceHost,
  layout: ServiceLayout = serviceLayout(),
): ServiceManager {
  switch (init) {
    case 'systemd':
      return new SystemdManager(spec, host, layout);
    case 'upstart':
      return new UpstartManager(spec, host, layout);
    case 'sysvinit':
      return new SysvinitManager(spec, host, layout);
    case 'windows':
      return new WindowsManager(spec, host, layout);
  }
}
