// aliyun-service --install | --start | --stop | --remove: the agent's OS service, through the
// service manager this machine runs (installer/). Prints the stock messages (spec/client-features.md
// §1.1): `install assist ok` / `install assist failed: <err>`, and likewise for the others.
//
// Extensions, for packaging and tests: ALIYUN_ASSIST_INIT_SYSTEM (systemd | upstart | sysvinit |
// windows) skips detection; ALIYUN_ASSIST_SERVICE_ROOT puts the service files under another root.
import { accessSync, constants } from 'node:fs';
import { isSea } from 'node:sea';
import type { AgentConfig } from '../agent/config/index.js';
import { ExitCode } from '../agent/shared/index.js';
import {
  agentSelfCommand,
  createServiceManager,
  detectInitSystem,
  InstallerError,
  isInitSystem,
  nodeServiceHost,
  restartIfInstalled,
  serviceLayout,
  type ServiceManager,
} from '../installer/index.js';

export type ServiceAction = 'install' | 'remove' | 'start' | 'stop';

const STOCK_NAME: Readonly<Record<ServiceAction, string>> = {
  install: 'install assist',
  remove: 'uninstall assist',
  start: 'start assist',
  stop: 'stop assist',
};

async function agentServiceManager(config: AgentConfig): Promise<ServiceManager> {
  const env = process.env;
  const forced = env['ALIYUN_ASSIST_INIT_SYSTEM']?.trim() || undefined;
  if (forced !== undefined && !isInitSystem(forced)) {
    throw new InstallerError('SPEC_INVALID', `ALIYUN_ASSIST_INIT_SYSTEM must be systemd, upstart, sysvinit or windows`);
  }
  const init = forced !== undefined && isInitSystem(forced) ? forced : await detectInitSystem();
  const command = agentSelfCommand({
    platform: process.platform,
    execPath: process.execPath,
    execArgv: process.execArgv,
    argv1: process.argv[1],
    isSea: isSea(),
    cwd: process.cwd(),
    pathEnv: env['PATH'],
    isExecutable: (p) => {
      try {
        accessSync(p, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
  });
  const spec = { kind: 'agent', command, installDir: config.paths.installDir, version: config.version } as const;
  return createServiceManager(
    init,
    spec,
    nodeServiceHost(env),
    serviceLayout(env['ALIYUN_ASSIST_SERVICE_ROOT'] || '/'),
  );
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Runs one service action and prints its stock result line; returns the exit code. */
export async function runServiceAction(action: ServiceAction, config: AgentConfig): Promise<ExitCode> {
  try {
    const manager = await agentServiceManager(config);
    await { install: manager.install, remove: manager.uninstall, start: manager.start, stop: manager.stop }[
      action
    ].call(manager);
    console.log(`${STOCK_NAME[action]} ok`);
    return ExitCode.Ok;
  } catch (e) {
    console.error(`${STOCK_NAME[action]} failed: ${message(e)}`);
    return ExitCode.Fatal;
  }
}

/**
 * After --register/--deregister the stock client restarts its service (`--stop`, then `--start`)
 * so the agent picks up the new identity. Only an installed service is restarted; prints
 * `restart service` when it was. A failure is printed, not thrown: the identity change stands.
 */
export async function restartAgentServiceIfInstalled(config: AgentConfig): Promise<void> {
  try {
    if (await restartIfInstalled(await agentServiceManager(config))) {
      console.log('restart service');
    }
  } catch (e) {
    console.error(`restart service failed: ${message(e)}`);
  }
}
