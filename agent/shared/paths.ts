// The on-disk layout the stock client uses (spec/client-features.md §2), derived from one install dir.
import { join } from 'node:path';

export const DEFAULT_INSTALL_DIR = '/usr/local/share/aliyun-assist';

export interface AgentPaths {
  installDir: string;
  versionDir: string;
  /** Hybrid identity files: instance-id, region-id, network-mode, pub-key, pri-key, machine-id. */
  hybridDir: string;
  /** Cross-version config (disable_update, apiserver-provider, …). */
  configDir: string;
  /** Script files of tasks; 0700, owned by the agent's user. */
  scriptDir: string;
  logDir: string;
  logFile: string;
  /** Agent state that must survive restarts (outbox, boot marker). */
  stateDir: string;
}

export function agentPaths(installDir: string, version: string, logDir?: string): AgentPaths {
  const versionDir = join(installDir, version);
  const logs = logDir ?? join(versionDir, 'log');
  return {
    installDir,
    versionDir,
    hybridDir: join(installDir, 'hybrid'),
    configDir: join(installDir, 'config'),
    scriptDir: join(installDir, 'work', 'script'),
    logDir: logs,
    logFile: join(logs, 'aliyun_assist_main.log'),
    stateDir: join(installDir, 'state'),
  };
}
