// Facts about this host sent at registration (spec/luban-protocol.md §7.2) and as X-Client-IP (§7.4).
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface HostInfo {
  hostname: string;
  /** First non-loopback IPv4 address of an up interface; '' when there is none. */
  intranetIp: string;
  osType: 'linux' | 'windows' | 'freebsd' | string;
  /**
   * Unix: `<sysname>_<distribution>_<machine>` when os-release(5) names the distribution
   * (`Linux_Debian GNU/Linux 12 (bookworm)_x86_64`), else the stock `<sysname>_<uname -v>_<machine>`;
   * Windows: the platform name. See docs/compatibility.md.
   */
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

/** How long cachedIntranetIp keeps an answer: addresses rarely change, and requests are many. */
export const INTRANET_IP_TTL_MS = 10_000;
let ipCache: { ip: string; at: number } | undefined;

/**
 * firstIntranetIp, kept for INTRANET_IP_TTL_MS: os.networkInterfaces() asks the kernel for every
 * address and builds objects for each, and every signed request (X-Client-IP) wants the answer.
 */
export function cachedIntranetIp(now = performance.now()): string {
  if (ipCache === undefined || now - ipCache.at >= INTRANET_IP_TTL_MS || now < ipCache.at) {
    ipCache = { ip: firstIntranetIp(), at: now };
  }
  return ipCache.ip;
}

export function osTypeOf(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'windows' : platform;
}

/** The os-release(5) variables: `KEY=value`, the value unquoted ('…' literally, "…" with \ escapes). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*?)\s*$/.exec(line);
    if (!m) {
      continue;
    }
    const raw = m[2]!;
    let value = raw;
    if (raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'")) {
      value = raw.slice(1, -1);
    } else if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
      value = raw.slice(1, -1).replace(/\\([\\"$`])/g, '$1');
    }
    out[m[1]!] = value;
  }
  return out;
}

/** PRETTY_NAME (else NAME VERSION) from /etc/os-release or /usr/lib/os-release; undefined without one. */
export function osPrettyName(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): string | undefined {
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    let text: string;
    try {
      text = read(path);
    } catch {
      continue;
    }
    const v = parseOsRelease(text);
    const name = (v['PRETTY_NAME'] || [v['NAME'], v['VERSION']].filter(Boolean).join(' ')).trim();
    // One line of printable text: it goes into a JSON body and a query string.
    const clean = [...name]
      .map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? ' ' : c))
      .join('')
      .trim();
    return clean === '' ? undefined : clean;
  }
  return undefined;
}

/** What the stock agent sends: Unix `<sysname>_<uname -v>_<machine>`, Windows the platform name. */
export function stockOsVersion(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? os.version() : `${os.type()}_${os.version()}_${os.machine()}`;
}

/**
 * The OS version this agent reports: the stock shape with the distribution in the middle when
 * os-release names one (people look for "Debian GNU/Linux 12", not a kernel build), else the stock
 * value. Windows: the platform name, as stock.
 */
export function osVersionOf(
  platform: NodeJS.Platform = process.platform,
  prettyName: () => string | undefined = () => osPrettyName(),
): string {
  const name = platform === 'win32' ? undefined : prettyName();
  return name === undefined ? stockOsVersion(platform) : `${os.type()}_${name}_${os.machine()}`;
}

export function hostInfo(): HostInfo {
  const osType = osTypeOf(process.platform);
  return {
    hostname: os.hostname(),
    intranetIp: firstIntranetIp(),
    osType,
    osVersion: osVersionOf(process.platform),
  };
}
