// Windows: the service AliyunService, registered with sc.exe; its binary is WinSW (<VER>\AliyunService.exe)
// configured by <VER>\AliyunService.xml, which runs the agent (see service-units/windows/).
// net.exe starts and stops it because, unlike `sc.exe start|stop`, it waits for the new state.
import type { ServiceHost } from '../ports.js';
import { renderServiceFiles, serviceFilePath, windowsFiles } from '../render.js';
import { serviceIdentity, type ServiceLayout, type ServiceSpec } from '../spec.js';
import { mustRun, notInstalled, type ServiceManager, type ServiceStatus } from './service-manager.js';

/** Win32 errors sc.exe exits with. */
const ERROR_SERVICE_EXISTS = 1073;
const ERROR_SERVICE_DOES_NOT_EXIST = 1060;

/**
 * The stock recovery actions (§6.3): restart after 3 min, again after 3 min, then after 3 h; the
 * failure count resets after a day.
 */
export const WINDOWS_RECOVERY = ['reset=', '86400', 'actions=', 'restart/180000/restart/180000/restart/10800000'];

/** `sc.exe query` states (SERVICE_STATUS.dwCurrentState), the same in every language. */
const RUNNING_STATES = new Set([2 /* START_PENDING */, 4 /* RUNNING */, 5 /* CONTINUE_PENDING */]);

export class WindowsManager implements ServiceManager {
  readonly initSystem = 'windows';
  readonly name: string;
  readonly file: string;
  readonly #spec: ServiceSpec;
  readonly #host: ServiceHost;
  readonly #layout: ServiceLayout;

  constructor(spec: ServiceSpec, host: ServiceHost, layout: ServiceLayout) {
    this.#spec = spec;
    this.#host = host;
    this.#layout = layout;
    this.name = serviceIdentity('windows', spec.kind).name;
    this.file = serviceFilePath('windows', spec, layout);
  }

  async install(): Promise<void> {
    for (const f of renderServiceFiles('windows', this.#spec, this.#layout)) {
      await this.#host.files.write(f.path, f.content, f.mode);
    }
    // binPath is a command line: the path is quoted in case it has spaces.
    const settings = [
      'binPath=',
      `"${windowsFiles(this.#spec, this.name).wrapper}"`,
      'start=',
      'auto',
      'DisplayName=',
      'Aliyun Assist Service',
    ];
    const created = await mustRun(this.#host, 'sc.exe', ['create', this.name, ...settings], [0, ERROR_SERVICE_EXISTS]);
    if (created.code === ERROR_SERVICE_EXISTS) {
      // A reinstall, maybe of another version: point the existing service at this one.
      await mustRun(this.#host, 'sc.exe', ['config', this.name, ...settings]);
    }
    await mustRun(this.#host, 'sc.exe', ['description', this.name, '阿里云助手']);
    await mustRun(this.#host, 'sc.exe', ['failure', this.name, ...WINDOWS_RECOVERY]);
    // Recovery also when the service stops with an error status (WinSW passes on the agent's).
    await mustRun(this.#host, 'sc.exe', ['failureflag', this.name, '1']);
  }

  async uninstall(): Promise<void> {
    const s = await this.status();
    if (s.state === 'not-installed') {
      await this.#host.files.remove(this.file);
      return;
    }
    if (s.state === 'running') {
      await mustRun(this.#host, 'net.exe', ['stop', this.name]);
    }
    await mustRun(this.#host, 'sc.exe', ['delete', this.name]);
    await this.#host.files.remove(this.file);
  }

  async start(): Promise<void> {
    if ((await this.#installedStatus()).state === 'running') {
      return;
    }
    await mustRun(this.#host, 'net.exe', ['start', this.name]);
  }

  async stop(): Promise<void> {
    if ((await this.#installedStatus()).state !== 'running') {
      return;
    }
    await mustRun(this.#host, 'net.exe', ['stop', this.name]);
  }

  async restart(): Promise<void> {
    // As the stock client does it (`net stop`, `net start`). Unlike the Linux managers this is two
    // requests: a caller killed in between leaves the service stopped.
    if ((await this.#installedStatus()).state === 'running') {
      await mustRun(this.#host, 'net.exe', ['stop', this.name]);
    }
    await mustRun(this.#host, 'net.exe', ['start', this.name]);
  }

  async status(): Promise<ServiceStatus> {
    const r = await mustRun(this.#host, 'sc.exe', ['query', this.name], [0, ERROR_SERVICE_DOES_NOT_EXIST]);
    if (r.code === ERROR_SERVICE_DOES_NOT_EXIST) {
      return { state: 'not-installed', detail: `the service ${this.name} does not exist` };
    }
    // `        STATE              : 4  RUNNING`; the label may be translated, the state names are not.
    const m = /:\s*(\d)\s+(STOPPED|START_PENDING|STOP_PENDING|RUNNING|CONTINUE_PENDING|PAUSE_PENDING|PAUSED)\b/.exec(
      r.stdout,
    );
    const state = m ? Number(m[1]) : 0;
    return { state: RUNNING_STATES.has(state) ? 'running' : 'stopped', detail: m ? m[0].replace(/^:\s*/, '') : '' };
  }

  async #installedStatus(): Promise<ServiceStatus> {
    const s = await this.status();
    if (s.state === 'not-installed') {
      throw notInstalled(this.name, 'windows');
    }
    return s;
  }
}
