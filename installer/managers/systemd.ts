// systemd: /etc/systemd/system/<name>.service, enabled for multi-user.target.
// Under another root (an image being built) it only writes and enables, with `systemctl --root`.
import { renderServiceFiles } from '../render.js';
import type { ServiceHost } from '../ports.js';
import { serviceIdentity, type ServiceLayout, type ServiceSpec } from '../spec.js';
import { mustRun, notInstalled, type ServiceManager, type ServiceStatus } from './service-manager.js';
import { serviceFilePath } from '../render.js';
import { InstallerError } from '../errors.js';

export class SystemdManager implements ServiceManager {
  readonly initSystem = 'systemd';
  readonly name: string;
  readonly file: string;
  readonly #unit: string;
  readonly #spec: ServiceSpec;
  readonly #host: ServiceHost;
  readonly #layout: ServiceLayout;

  constructor(spec: ServiceSpec, host: ServiceHost, layout: ServiceLayout) {
    this.#spec = spec;
    this.#host = host;
    this.#layout = layout;
    this.name = serviceIdentity('systemd', spec.kind).name;
    this.#unit = `${this.name}.service`;
    this.file = serviceFilePath('systemd', spec, layout);
  }

  get #live(): boolean {
    return this.#layout.root === '/';
  }

  #systemctl(...args: string[]) {
    return mustRun(this.#host, 'systemctl', this.#live ? args : [`--root=${this.#layout.root}`, ...args]);
  }

  #requireLive(what: string): void {
    if (!this.#live) {
      throw new InstallerError('UNSUPPORTED', `cannot ${what} ${this.#unit} under another root (${this.#layout.root})`);
    }
  }

  async install(): Promise<void> {
    for (const f of renderServiceFiles('systemd', this.#spec, this.#layout)) {
      await this.#host.files.write(f.path, f.content, f.mode);
    }
    if (this.#live) {
      await this.#systemctl('daemon-reload');
    }
    await this.#systemctl('enable', this.#unit);
  }

  async uninstall(): Promise<void> {
    if (!(await this.#host.files.exists(this.file))) {
      return;
    }
    if (this.#live) {
      await this.#systemctl('stop', this.#unit);
    }
    await this.#systemctl('disable', this.#unit);
    await this.#host.files.remove(this.file);
    if (this.#live) {
      await this.#systemctl('daemon-reload');
    }
  }

  async start(): Promise<void> {
    this.#requireLive('start');
    await this.#requireInstalled();
    await this.#systemctl('start', this.#unit);
  }

  async stop(): Promise<void> {
    this.#requireLive('stop');
    await this.#requireInstalled();
    await this.#systemctl('stop', this.#unit);
  }

  async restart(): Promise<void> {
    this.#requireLive('restart');
    await this.#requireInstalled();
    // One job in systemd: it completes even when the stop kills this process.
    await this.#systemctl('restart', this.#unit);
  }

  async status(): Promise<ServiceStatus> {
    if (!(await this.#host.files.exists(this.file))) {
      return { state: 'not-installed', detail: `${this.file} does not exist` };
    }
    this.#requireLive('query');
    // is-active: 0 when active; 3 (inactive, failed, activating …) otherwise.
    const r = await mustRun(this.#host, 'systemctl', ['is-active', this.#unit], [0, 1, 2, 3, 4]);
    const said = r.stdout.trim() || r.stderr.trim();
    return { state: r.code === 0 ? 'running' : 'stopped', detail: said };
  }

  async #requireInstalled(): Promise<void> {
    if (!(await this.#host.files.exists(this.file))) {
      throw notInstalled(this.#unit, 'systemd');
    }
  }
}
