// sysvinit: /etc/init.d/<name> (LSB header, chkconfig line) and its rc links. Registration uses
// chkconfig (RHEL, SUSE) or update-rc.d (Debian) when present, else writes the stock links
// (S50/K02 for the agent) itself; under another root it always writes the links.
import { posix } from 'node:path';
import type { ServiceHost } from '../ports.js';
import { renderServiceFiles, serviceFilePath } from '../render.js';
import { serviceIdentity, type ServiceIdentity, type ServiceLayout, type ServiceSpec } from '../spec.js';
import { mustRun, notInstalled, type ServiceManager, type ServiceStatus } from './service-manager.js';

const START_LEVELS = ['2', '3', '4', '5'];
const STOP_LEVELS = ['0', '1', '6'];

export class SysvinitManager implements ServiceManager {
  readonly initSystem = 'sysvinit';
  readonly name: string;
  readonly file: string;
  readonly #id: ServiceIdentity;
  readonly #spec: ServiceSpec;
  readonly #host: ServiceHost;
  readonly #layout: ServiceLayout;

  constructor(spec: ServiceSpec, host: ServiceHost, layout: ServiceLayout) {
    this.#spec = spec;
    this.#host = host;
    this.#layout = layout;
    this.#id = serviceIdentity('sysvinit', spec.kind);
    this.name = this.#id.name;
    this.file = serviceFilePath('sysvinit', spec, layout);
  }

  async #registrar(): Promise<'chkconfig' | 'update-rc.d' | 'links'> {
    if (this.#layout.root !== '/') {
      return 'links';
    }
    if (await this.#host.hasCommand('chkconfig')) {
      return 'chkconfig';
    }
    return (await this.#host.hasCommand('update-rc.d')) ? 'update-rc.d' : 'links';
  }

  #links(): { path: string; target: string }[] {
    const target = posix.join('..', 'init.d', this.name);
    const at = (level: string, prefix: string) => ({
      path: posix.join(this.#layout.rcDir, `rc${level}.d`, `${prefix}${this.name}`),
      target,
    });
    return [
      ...START_LEVELS.map((l) => at(l, `S${this.#id.startPriority}`)),
      ...STOP_LEVELS.map((l) => at(l, `K${this.#id.stopPriority}`)),
    ];
  }

  async install(): Promise<void> {
    for (const f of renderServiceFiles('sysvinit', this.#spec, this.#layout)) {
      await this.#host.files.write(f.path, f.content, f.mode);
    }
    switch (await this.#registrar()) {
      case 'chkconfig':
        await mustRun(this.#host, 'chkconfig', ['--add', this.name]);
        await mustRun(this.#host, 'chkconfig', [this.name, 'on']);
        break;
      case 'update-rc.d':
        await mustRun(this.#host, 'update-rc.d', [this.name, 'defaults']);
        break;
      case 'links':
        for (const l of this.#links()) {
          await this.#host.files.symlink(l.target, l.path);
        }
        break;
    }
  }

  async uninstall(): Promise<void> {
    if (!(await this.#host.files.exists(this.file))) {
      return;
    }
    await this.stop();
    switch (await this.#registrar()) {
      case 'chkconfig':
        await mustRun(this.#host, 'chkconfig', ['--del', this.name]);
        break;
      case 'update-rc.d':
        // Debian's update-rc.d refuses to remove links while the script exists, unless forced.
        await mustRun(this.#host, 'update-rc.d', ['-f', this.name, 'remove']);
        break;
      case 'links':
        break;
    }
    // The stock links, whoever made them.
    for (const l of this.#links()) {
      await this.#host.files.remove(l.path);
    }
    await this.#host.files.remove(this.file);
  }

  async start(): Promise<void> {
    await this.#requireInstalled();
    await mustRun(this.#host, this.file, ['start']);
  }

  async stop(): Promise<void> {
    await this.#requireInstalled();
    await mustRun(this.#host, this.file, ['stop']);
  }

  async restart(): Promise<void> {
    await this.#requireInstalled();
    // Detached: the script must get to `start` even if the agent it stops kills our process group.
    await mustRun(this.#host, this.file, ['restart'], [0], { detached: true });
  }

  async status(): Promise<ServiceStatus> {
    if (!(await this.#host.files.exists(this.file))) {
      return { state: 'not-installed', detail: `${this.file} does not exist` };
    }
    // LSB: 0 running, 1 dead with a pid file, 3 not running (4 unknown).
    const r = await mustRun(this.#host, this.file, ['status'], [0, 1, 2, 3, 4]);
    return { state: r.code === 0 ? 'running' : 'stopped', detail: r.stdout.trim() || r.stderr.trim() };
  }

  async #requireInstalled(): Promise<void> {
    if (!(await this.#host.files.exists(this.file))) {
      throw notInstalled(this.name, 'sysvinit');
    }
  }
}
