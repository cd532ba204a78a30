// Which service manager runs this machine: systemd when /run/systemd/system exists (what
// sd_booted(3) checks), upstart when `initctl --version` says so, sysvinit for any other Linux,
// and the SCM on Windows.
import { existsSync } from 'node:fs';
import { InstallerError } from './errors.js';
import { runCommand } from './node-host.js';
import type { InitSystem } from './spec.js';

export interface InitProbes {
  platform: string;
  pathExists(path: string): boolean;
  /** What `initctl --version` prints, or undefined when there is no initctl. */
  initctlVersion(): Promise<string | undefined>;
}

export function nodeInitProbes(): InitProbes {
  return {
    platform: process.platform,
    pathExists: existsSync,
    async initctlVersion() {
      try {
        const r = await runCommand('initctl', ['--version']);
        return r.code === 0 ? r.stdout : undefined;
      } catch {
        return undefined; // not installed
      }
    },
  };
}

export async function detectInitSystem(probes: InitProbes = nodeInitProbes()): Promise<InitSystem> {
  if (probes.platform === 'win32') {
    return 'windows';
  }
  if (probes.platform !== 'linux') {
    throw new InstallerError('UNSUPPORTED', `no service manager support for ${probes.platform}`);
  }
  if (probes.pathExists('/run/systemd/system')) {
    return 'systemd';
  }
  // `initctl (upstart 1.12.1)`; systemd-era distributions may ship an unrelated initctl.
  if (/\bupstart\b/i.test((await probes.initctlVersion()) ?? '')) {
    return 'upstart';
  }
  return 'sysvinit';
}
