// upstart: /etc/init/<name>.conf; `start on` in the job starts it at boot, so there is no enabling.
import { InstallerError } from '../errors.js';
import type { ServiceHost } from '../ports.js';
import { renderServiceFiles, serviceFilePath } from '../render.js';
import { serviceIdentity, type ServiceLayout, type ServiceSpec } from '../spec.js';
import { mustRun, notInstalled, type ServiceManager, type ServiceStatus } from './service-manager.js';

export class UpstartManager implements ServiceManager {
  readonly initSystem = 'upstart';
  readonly name: string;
  readonly file: string;
  readonly #spec: ServiceSpec;
  readonly #host: ServiceHost;
  readonly #layout: ServiceLayout;

  constructor(spec: ServiceSpec, host: ServiceHost, layout: ServiceLayout) {
    this.#spec = spec;
    this.#host = host;
    this.#layout = layout;
    this.name = serviceIdentity('upstart', spec.kind).name;
    this.file = serviceFilePath('upstart', spec, layout);
  }

  get #live(): boolean {
    return this.#layout.root === '/';
  }

  async install(): Promise<void> {
    for (const f of renderServiceFiles('upstart', this.#spec, this.#layout)) {
      await this.#host.files.write(f.path, f.content, f.mode);
    }
    if (this.#live) {
      await mustRun(this.#host, 'initctl', ['reload-configuration']);
    }
  }

  async uninstall(): Promise<void> {
    if (!(await this.#host.files.exists(this.file))) {
      return;
    }
    if (this.#live) {
      await this.stop();
    }
    await this.#host.files.remove(this.file);
    if (this.#live) {
      await mustRun(this.#host, 'initctl', ['reload-configuration']);
    }
  }

  async start(): Promise<void> {
    // `initctl start` fails on a running job: ask first.
    if ((await this.#installedStatus()).state === 'running') {
      return;
    }
    await mustRun(this.#host, 'initctl', ['start', this.name]);
  }

  async stop(): Promise<void> {
    if ((await this.#installedStatus()).state !== 'running') {
      return;
    }
    await mustRun(this.#host, 'initctl', ['stop', this.name]);
  }

  async restart(): Promise<void> {
    // `initctl restart` needs a running job; init carries out the change once asked.
    const running = (await this.#installedStatus()).state === 'running';
    await mustRun(this.#host, 'initctl', [running ? 'restart' : 'start', this.name]);
  }

  async status(): Promise<ServiceStatus> {
    if (!(await this.#host.files.exists(this.file))) {
      return { state: 'not-installed', detail: `${this.file} does not exist` };
    }
    if (!this.#live) {
      throw new InstallerError('UNSUPPORTED', `cannot query ${this.name} under another root (${this.#layout.root})`);
    }
    // `aliyun-service start/running, process 1234` or `aliyun-service stop/waiting`.
    const r = await mustRun(this.#host, 'initctl', ['status', this.name]);
    const said = r.stdout.trim();
    return {
      state: /\sstart\/(running|post-start|spawned|pre-start)\b/.test(` ${said}`) ? 'running' : 'stopped',
      detail: said,
    };
  }

  async #installedStatus(): Promise<ServiceStatus> {
    const s = await this.status();
    if (s.state === 'not-installed') {
      throw notInstalled(this.name, 'upstart');
    }
    return s;
  }
}
