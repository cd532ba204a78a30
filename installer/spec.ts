// What a service runs (ServiceSpec), what it is called under each service manager, and where the
// managers keep their files (ServiceLayout). Names and paths are the stock client's
// (spec/client-features.md §2.8, §11.1).
import { posix, win32 } from 'node:path';
import { InstallerError } from './errors.js';
import { assertOneLine } from './template.js';

export const INIT_SYSTEMS = ['systemd', 'upstart', 'sysvinit', 'windows'] as const;
export type InitSystem = (typeof INIT_SYSTEMS)[number];
export const isInitSystem = (s: string): s is InitSystem => (INIT_SYSTEMS as readonly string[]).includes(s);

/** The agent (aliyun-service), or the watchdog (assist_daemon) that runs the agent as its child. */
export type ServiceKind = 'agent' | 'watchdog';

export interface ServiceSpec {
  kind: ServiceKind;
  /** The program and its arguments; the program is an absolute path. */
  command: readonly string[];
  /** `<ROOT>`, passed to the program as ALIYUN_ASSIST_INSTALL_DIR. */
  installDir: string;
  /** Written into the header of every rendered file. */
  version: string;
  /** systemd only (User=); the agent runs tasks as other users, so it needs root. Default root. */
  user?: string;
}

export const DEFAULT_WATCHDOG_BINARY = '/usr/local/share/assist-daemon/assist_daemon';

/** The watchdog's service: `assist_daemon --start` runs it in the foreground (bin/assist-daemon.ts). */
export function watchdogServiceSpec(o: {
  installDir: string;
  version: string;
  binary?: string;
  args?: readonly string[];
}): ServiceSpec {
  return {
    kind: 'watchdog',
    command: [o.binary ?? DEFAULT_WATCHDOG_BINARY, '--start', ...(o.args ?? [])],
    installDir: o.installDir,
    version: o.version,
  };
}

/**
 * Seconds between the stop signal and SIGKILL. The agent exits by itself at most 15 s after
 * SIGTERM (bin/aliyun-service-main.ts), after a 10 s drain; the watchdog gives the agent 20 s
 * (ASSIST_DAEMON_STOP_GRACE_MS) before it exits. Each gets 5–10 s on top.
 */
export const STOP_TIMEOUT_SEC: Readonly<Record<ServiceKind, number>> = { agent: 20, watchdog: 30 };

export interface ServiceIdentity {
  /** The service's name under this manager: `aliyun`, `aliyun-service`, `AliyunService`, `assist_daemon`. */
  name: string;
  /** The program the service runs, as users know it. */
  program: string;
  description: string;
  /** sysvinit rc order: the watchdog starts after the agent and stops before it. */
  startPriority: string;
  stopPriority: string;
  stopTimeoutSec: number;
  /** The per-service environment file read after /etc/sysconfig/aliyun (sysvinit, upstart, watchdog). */
  serviceEnvFileName: string;
  /**
   * Exit statuses after which upstart does not respawn: 64 (invalid configuration) for both, and
   * for the watchdog 0 too, the status of a requested stop (`assist_daemon --stop`).
   */
  normalExit: string;
}

const NAMES: Readonly<Record<ServiceKind, Readonly<Record<InitSystem, string | undefined>>>> = {
  agent: { systemd: 'aliyun', upstart: 'aliyun-service', sysvinit: 'aliyun-service', windows: 'AliyunService' },
  // The stock watchdog is Linux only (§1.4).
  watchdog: { systemd: 'assist_daemon', upstart: 'assist_daemon', sysvinit: 'assist_daemon', windows: undefined },
};

export function serviceIdentity(init: InitSystem, kind: ServiceKind): ServiceIdentity {
  const name = NAMES[kind][init];
  if (name === undefined) {
    throw new InstallerError('UNSUPPORTED', `the ${kind} service is not available under ${init}`);
  }
  return kind === 'agent'
    ? {
        name,
        program: 'aliyun-service',
        description: 'Aliyun Assist',
        startPriority: '50',
        stopPriority: '02',
        stopTimeoutSec: STOP_TIMEOUT_SEC.agent,
        serviceEnvFileName: 'aliyun-service',
        normalExit: '64',
      }
    : {
        name,
        program: 'assist_daemon',
        description: 'Aliyun Assist watchdog',
        startPriority: '51',
        stopPriority: '01',
        stopTimeoutSec: STOP_TIMEOUT_SEC.watchdog,
        serviceEnvFileName: 'assist_daemon',
        normalExit: '0 64',
      };
}

/** Where the Linux service managers keep their files; everything under `root` (`/` on a live system). */
export interface ServiceLayout {
  root: string;
  systemdUnitDir: string;
  upstartJobDir: string;
  initScriptDir: string;
  /** Holds rc0.d … rc6.d. */
  rcDir: string;
  /** `/etc/sysconfig`: `aliyun` (all managers) and `<service>` (sysvinit, upstart, watchdog). */
  sysconfigDir: string;
  runDir: string;
  logDir: string;
  lockDir: string;
}

export function serviceLayout(root = '/'): ServiceLayout {
  if (!posix.isAbsolute(root)) {
    throw new InstallerError('SPEC_INVALID', `the service root must be absolute: ${root}`);
  }
  const at = (p: string): string => posix.join(root, p);
  return Object.freeze({
    root: posix.normalize(root),
    systemdUnitDir: at('/etc/systemd/system'),
    upstartJobDir: at('/etc/init'),
    initScriptDir: at('/etc/init.d'),
    rcDir: at('/etc'),
    sysconfigDir: at('/etc/sysconfig'),
    runDir: at('/var/run'),
    logDir: at('/var/log'),
    lockDir: at('/var/lock/subsys'),
  });
}

/** Rejects what cannot be written safely into a unit, naming every problem. */
export function validateSpec(init: InitSystem, spec: ServiceSpec): void {
  const issues: string[] = [];
  const path = init === 'windows' ? win32 : posix;
  const [program] = spec.command;
  if (program === undefined || !path.isAbsolute(program)) {
    issues.push(`the program must be an absolute path, got ${JSON.stringify(program ?? '')}`);
  }
  if (!path.isAbsolute(spec.installDir)) {
    issues.push(`the install dir must be absolute, got ${JSON.stringify(spec.installDir)}`);
  }
  if (!/^[0-9A-Za-z][0-9A-Za-z.+~-]*$/.test(spec.version)) {
    issues.push(`the version must be letters, digits and . + ~ -, got ${JSON.stringify(spec.version)}`);
  }
  if (spec.user !== undefined && !/^[a-z_][a-z0-9_-]*$/i.test(spec.user)) {
    issues.push(`the user must be a plain user name, got ${JSON.stringify(spec.user)}`);
  }
  for (const [what, value] of [
    ['installDir', spec.installDir],
    ...spec.command.map((a, i) => [`command[${i}]`, a] as const),
  ] as const) {
    try {
      assertOneLine(what, value);
    } catch (e) {
      issues.push((e as Error).message);
    }
    // WinSW expands %NAME% in every value of its XML file.
    if (init === 'windows' && value.includes('%')) {
      issues.push(`${what} must not contain % on Windows: ${value}`);
    }
  }
  if (issues.length > 0) {
    throw new InstallerError('SPEC_INVALID', `invalid service definition: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
}
