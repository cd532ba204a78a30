// Pure configuration loading: (flags, env) → frozen AgentConfig; every problem reported at once.
import {
  AgentError,
  AGENT_VERSION,
  agentPaths,
  DEFAULT_INSTALL_DIR,
  LIVENESS_FILE_ENV,
  parseProxyUrl,
  type AgentPaths,
} from '../shared/index.js';

export interface AgentFlags {
  /** `-L/--LogPath`: a directory for logs (stock: scripts go there too). */
  logPath?: string;
  installDir?: string;
}

export interface AgentConfig {
  version: string;
  paths: AgentPaths;
  /** `host` or `host:port` from ALIYUN_ASSIST_SERVER_HOST; undefined when not set. */
  serverHost: string | undefined;
  /** PEM file of an extra CA to trust (ALIYUN_ASSIST_CERT_PATH). */
  certPath: string | undefined;
  /** ALIYUN_ASSIST_PROXY: `http://[user:password@]host[:port]` for every request and the WebSocket. */
  proxy: string | undefined;
  /** The file the watchdog watches (ALIYUN_ASSIST_LIVENESS_FILE); undefined when not supervised. */
  livenessFile: string | undefined;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Our extensions, for tests and special set-ups. */
  heartbeatIntervalMs: number | undefined;
  /** Where the once-per-boot marker lives (ALIYUN_ASSIST_BOOT_MARKER_DIR); default /dev/shm, emptied at boot. */
  bootMarkerDir: string | undefined;
  /** Between update checks (ALIYUN_ASSIST_UPDATE_INTERVAL_MS); default (undefined): the stock 30 minutes. */
  updateIntervalMs: number | undefined;
  /** Session Manager: idle limit (ALIYUN_ASSIST_SESSION_IDLE_MS, stock 180 s) and hard limit (…_MAX_MS, stock 3 h). */
  sessionIdleMs: number;
  sessionMaxMs: number;
  /** Whether `ecs-assist-user` gets passwordless sudo, as stock (ALIYUN_ASSIST_SESSION_USER_SUDO=false turns it off). */
  sessionUserSudo: boolean;
}

const HOST_RE = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/;

export function loadAgentConfig(flags: AgentFlags, env: Readonly<Record<string, string | undefined>>): AgentConfig {
  const issues: string[] = [];
  const installDir = flags.installDir ?? env['ALIYUN_ASSIST_INSTALL_DIR'] ?? DEFAULT_INSTALL_DIR;
  if (!installDir.startsWith('/') && !/^[A-Za-z]:\\/.test(installDir)) {
    issues.push(`install dir must be absolute: ${installDir}`);
  }
  const serverHost = nonEmpty(env['ALIYUN_ASSIST_SERVER_HOST']);
  if (serverHost !== undefined && !HOST_RE.test(serverHost)) {
    issues.push(`ALIYUN_ASSIST_SERVER_HOST must be host or host:port, got ${serverHost}`);
  }
  const proxy = nonEmpty(env['ALIYUN_ASSIST_PROXY']);
  if (proxy !== undefined) {
    try {
      parseProxyUrl(proxy);
    } catch (e) {
      issues.push((e as Error).message);
    }
  }
  const livenessFile = nonEmpty(env[LIVENESS_FILE_ENV]);
  if (livenessFile !== undefined && !livenessFile.startsWith('/') && !/^[A-Za-z]:\\/.test(livenessFile)) {
    issues.push(`${LIVENESS_FILE_ENV} must be absolute: ${livenessFile}`);
  }
  const bootMarkerDir = nonEmpty(env['ALIYUN_ASSIST_BOOT_MARKER_DIR']);
  if (bootMarkerDir !== undefined && !bootMarkerDir.startsWith('/')) {
    issues.push(`ALIYUN_ASSIST_BOOT_MARKER_DIR must be absolute: ${bootMarkerDir}`);
  }
  const level = env['ALIYUN_ASSIST_LOG_LEVEL'] ?? 'info';
  if (!['error', 'warn', 'info', 'debug'].includes(level)) {
    issues.push(`ALIYUN_ASSIST_LOG_LEVEL must be error|warn|info|debug`);
  }
  const hb = nonEmpty(env['ALIYUN_ASSIST_HEARTBEAT_MS']);
  const heartbeatIntervalMs = hb === undefined ? undefined : Number(hb);
  if (heartbeatIntervalMs !== undefined && !(Number.isInteger(heartbeatIntervalMs) && heartbeatIntervalMs >= 100)) {
    issues.push('ALIYUN_ASSIST_HEARTBEAT_MS must be an integer >= 100');
  }
  const ui = nonEmpty(env['ALIYUN_ASSIST_UPDATE_INTERVAL_MS']);
  const updateIntervalMs = ui === undefined ? undefined : Number(ui);
  if (updateIntervalMs !== undefined && !(Number.isInteger(updateIntervalMs) && updateIntervalMs >= 100)) {
    issues.push('ALIYUN_ASSIST_UPDATE_INTERVAL_MS must be an integer >= 100');
  }
  const sessionIdleMs = positiveMs(env, 'ALIYUN_ASSIST_SESSION_IDLE_MS', 180_000, issues);
  const sessionMaxMs = positiveMs(env, 'ALIYUN_ASSIST_SESSION_MAX_MS', 3 * 3600_000, issues);
  const sudo = nonEmpty(env['ALIYUN_ASSIST_SESSION_USER_SUDO'])?.toLowerCase() ?? 'true';
  if (sudo !== 'true' && sudo !== 'false') {
    issues.push('ALIYUN_ASSIST_SESSION_USER_SUDO must be true or false');
  }
  if (issues.length > 0) {
    throw new AgentError('CONFIG_INVALID', `invalid configuration: ${issues.join('; ')}`, { details: { issues } });
  }
  const config: AgentConfig = {
    version: AGENT_VERSION,
    paths: Object.freeze(agentPaths(installDir, AGENT_VERSION, nonEmpty(flags.logPath))),
    serverHost,
    certPath: nonEmpty(env['ALIYUN_ASSIST_CERT_PATH']),
    proxy,
    livenessFile,
    logLevel: level as AgentConfig['logLevel'],
    heartbeatIntervalMs,
    bootMarkerDir,
    updateIntervalMs,
    sessionIdleMs,
    sessionMaxMs,
    sessionUserSudo: sudo !== 'false',
  };
  return Object.freeze(config);
}

const nonEmpty = (s: string | undefined): string | undefined =>
  s === undefined || s.trim() === '' ? undefined : s.trim();

/** An optional duration in ms (an integer >= 100), or its default. */
function positiveMs(
  env: Readonly<Record<string, string | undefined>>,
  key: string,
  fallback: number,
  issues: string[],
): number {
  const raw = nonEmpty(env[key]);
  if (raw === undefined) {
    return fallback;
  }
  const n = Number(raw);
  if (!(Number.isInteger(n) && n >= 100)) {
    issues.push(`${key} must be an integer >= 100`);
  }
  return n;
}
