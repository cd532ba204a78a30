// One interface over systemd, upstart, sysvinit and the Windows SCM.
import { InstallerError } from '../errors.js';
import type { CommandResult, RunOptions, ServiceHost } from '../ports.js';
import type { InitSystem } from '../spec.js';

export type ServiceState = 'running' | 'stopped' | 'not-installed';

export interface ServiceStatus {
  state: ServiceState;
  /** What the service manager said, for people. */
  detail: string;
}

export interface ServiceManager {
  readonly initSystem: InitSystem;
  /** The service's name under this manager (`aliyun`, `aliyun-service`, `AliyunService`, …). */
  readonly name: string;
  /** The unit, job, init script or WinSW XML file. */
  readonly file: string;
  /** Writes the service's files and registers it to start at boot; reinstalling replaces them. */
  install(): Promise<void>;
  /** Stops the service and removes it; nothing to do when it is not installed. */
  uninstall(): Promise<void>;
  /** Starts the service; nothing to do when it runs. */
  start(): Promise<void>;
  /** Stops the service; nothing to do when it is stopped. */
  stop(): Promise<void>;
  /**
   * Stops (when running) and starts the service as one request that completes even if the caller
   * is killed half-way, as the agent does to a task when it stops (a restart after --register run
   * as a command): systemd and upstart carry it out themselves, the sysvinit script runs detached.
   */
  restart(): Promise<void>;
  status(): Promise<ServiceStatus>;
}

/** Runs a command and fails with COMMAND_FAILED unless it exits with one of `ok`. */
export async function mustRun(
  host: ServiceHost,
  command: string,
  args: readonly string[],
  ok: readonly number[] = [0],
  options?: RunOptions,
): Promise<CommandResult> {
  const line = [command, ...args].join(' ');
  let r: CommandResult;
  try {
    r = await host.runner.run(command, args, ...(options ? [options] : []));
  } catch (e) {
    throw new InstallerError('COMMAND_FAILED', `${line}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      details: { command: line },
    });
  }
  if (!ok.includes(r.code)) {
    const said = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' ');
    throw new InstallerError('COMMAND_FAILED', `${line} exited with ${r.code}${said ? `: ${said}` : ''}`, {
      details: { command: line, code: r.code, stdout: r.stdout, stderr: r.stderr },
    });
  }
  return r;
}

export function notInstalled(name: string, initSystem: InitSystem): InstallerError {
  return new InstallerError('NOT_INSTALLED', `the ${initSystem} service ${name} is not installed`);
}

/** Restarts the service when it is installed; false when it is not. */
export async function restartIfInstalled(manager: ServiceManager): Promise<boolean> {
  if ((await manager.status()).state === 'not-installed') {
    return false;
  }
  await manager.restart();
  return true;
}
