// Facts about this host sent at registration (spec/luban-protocol.md §7.2) and as X-Client-IP (§7.4).
import os from 'node:os';

export interface HostInfo {
  hostname: string;
  /** First non-loopback IPv4 address of an up interface; '' when there is none. */
  intranetIp: string;
  osType: 'linux' | 'windows' | 'freebsd' | string;
  osVersion: string;
}

/** The first non-internal IPv4 address (Node lists only interfaces that are up and running). */
export function firstIntranetIp(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) {
        return a.address;
      }
    }
  }
  return '';
}

export function osTypeOf(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'windows' : platform;
}

export function hostInfo(): HostInfo {
  const osType = osTypeOf(process.platform);
  return {
    hostname: os.hostname(),
    intranetIp: firstIntranetIp(),
    osType,
    // Unix: `<sysname>_<uname -v>_<machine>`; Windows: the platform name (os.version() gives it).
    osVersion: osType === 'windows' ? os.version() : `${os.type()}_${os.version()}_${os.machine()}`,
  };
}
