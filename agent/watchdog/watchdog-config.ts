// Pure configuration of assist_daemon: (flags, env) → frozen WatchdogConfig, every problem reported
// at once. Flags win over environment variables (ASSIST_DAEMON_*), which win over defaults.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { AgentError, DEFAULT_INSTALL_DIR } from '../shared/index.js';
import { DEFAULT_BACKOFF, type BackoffPolicy, type Budget } from './policy.js';

export const DEFAULT_STATE_DIR = '/usr/local/share/assist-daemon';
const MiB = 1024 * 1024;

/**
 * Default memory budget, on the agent's PSS (docs/operations.md). The stock watchdog allows 50 MB
 * of RSS, but most of an agent's RSS is clean pages of the executable it shares with the watchdog
 * (a bare single executable of Node 20 is about 48 MiB RSS); its PSS idles near 30 MiB, and even
 * its RSS peaks at 61–63 MiB during a 50 MB output (bench/footprint.ts). 128 MiB leaves room for
 * bursts of concurrent commands: a restart interrupts running tasks.
 */
export const DEFAULT_PSS_BUDGET_MIB = 128;
/** No RSS budget by default: RSS counts the shared executable in full. */
export const DEFAULT_RSS_BUDGET_MIB = 0;

export interface WatchdogFlags {
  stateDir?: string;
  /** The agent executable; when absent it is `<installDir>/<contents of installDir/version>/aliyun-service`. */
  agent?: string;
  agentArgs?: readonly string[];
  cpuPercent?: string;
  pssMib?: string;
  rssMib?: string;
  sampleMs?: string;
  strikes?: string;
  warmupMs?: string;
  stopGraceMs?: string;
  backoffMs?: string;
  backoffMaxMs?: string;
  backoffResetMs?: string;
  livenessStaleMs?: string;
}

/** Where the agent comes from: a fixed path, or the active version of an install root (re-read at every start). */
export type AgentSource =
  | { kind: 'path'; command: string; args: readonly string[] }
  | { kind: 'install-dir'; installDir: string; args: readonly string[] };

/** The watchdog's files, all in its state dir. */
export interface WatchdogFiles {
  stateDir: string;
  pidFile: string;
  statusFile: string;
  logFile: string;
  /** Passed to the agent (ALIYUN_ASSIST_LIVENESS_FILE); checked only once the agent writes it. */
  livenessFile: string;
}

export interface WatchdogConfig extends WatchdogFiles {
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  agent: AgentSource;
  budget: Budget;
  sampleIntervalMs: number;
  backoff: BackoffPolicy;
  /** SIGTERM → SIGKILL grace when stopping the agent (its own stop budget is 10 s, backstop 15 s). */
  stopGraceMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Numeric settings: flag key, environment variable, default, smallest allowed value. */
const NUMBERS = {
  cpuPercent: { env: 'ASSIST_DAEMON_CPU_PERCENT', def: 20, min: 1 },
  pssMib: { env: 'ASSIST_DAEMON_PSS_MIB', def: DEFAULT_PSS_BUDGET_MIB, min: 0 },
  rssMib: { env: 'ASSIST_DAEMON_RSS_MIB', def: DEFAULT_RSS_BUDGET_MIB, min: 0 },
  sampleMs: { env: 'ASSIST_DAEMON_SAMPLE_MS', def: 5_000, min: 50 },
  strikes: { env: 'ASSIST_DAEMON_STRIKES', def: 3, min: 1 },
  warmupMs: { env: 'ASSIST_DAEMON_WARMUP_MS', def: 60_000, min: 0 },
  stopGraceMs: { env: 'ASSIST_DAEMON_STOP_GRACE_MS', def: 20_000, min: 0 },
  backoffMs: { env: 'ASSIST_DAEMON_BACKOFF_MS', def: DEFAULT_BACKOFF.initialMs, min: 1 },
  backoffMaxMs: { env: 'ASSIST_DAEMON_BACKOFF_MAX_MS', def: DEFAULT_BACKOFF.maxMs, min: 1 },
  backoffResetMs: { env: 'ASSIST_DAEMON_BACKOFF_RESET_MS', def: DEFAULT_BACKOFF.resetAfterUpMs, min: 0 },
  livenessStaleMs: { env: 'ASSIST_DAEMON_LIVENESS_STALE_MS', def: 60_000, min: 100 },
} as const satisfies Record<string, { env: string; def: number; min: number }>;
type NumberKey = keyof typeof NUMBERS;

/** The environment variables the watchdog reads, for documentation and `--help`. */
export const WATCHDOG_ENV = [
  'ASSIST_DAEMON_STATE_DIR',
  'ASSIST_DAEMON_LOG_LEVEL',
  'ASSIST_DAEMON_AGENT',
  'ALIYUN_ASSIST_INSTALL_DIR',
  ...Object.values(NUMBERS).map((n) => n.env),
] as const;

export function loadWatchdogConfig(flags: WatchdogFlags, env: Env): WatchdogConfig {
  const issues: string[] = [];
  const n = {} as Record<NumberKey, number>;
  for (const key of Object.keys(NUMBERS) as NumberKey[]) {
    const spec = NUMBERS[key];
    const raw = nonEmpty(flags[key]) ?? nonEmpty(env[spec.env]);
    if (raw === undefined) {
      n[key] = spec.def;
      continue;
    }
    const v = Number(raw);
    if (
      !Number.isFinite(v) ||
      v < spec.min ||
      (key !== 'cpuPercent' && key !== 'rssMib' && key !== 'pssMib' && !Number.isInteger(v))
    ) {
      issues.push(`${spec.env} (--${kebab(key)}) must be a number >= ${spec.min}, got ${raw}`);
    }
    n[key] = v;
  }
  if (n.backoffMaxMs < n.backoffMs) {
    issues.push('the backoff maximum must not be smaller than the initial backoff');
  }
  const stateDir = stateDirOf(flags, env);
  if (!isAbsolute(stateDir)) {
    issues.push(`the state dir must be absolute: ${stateDir}`);
  }
  const logLevel = nonEmpty(env['ASSIST_DAEMON_LOG_LEVEL']) ?? 'info';
  if (!['error', 'warn', 'info', 'debug'].includes(logLevel)) {
    issues.push('ASSIST_DAEMON_LOG_LEVEL must be error|warn|info|debug');
  }
  const args = Object.freeze([...(flags.agentArgs ?? [])]);
  const agentPath = nonEmpty(flags.agent) ?? nonEmpty(env['ASSIST_DAEMON_AGENT']);
  let agent: AgentSource;
  if (agentPath !== undefined) {
    if (!isAbsolute(agentPath)) {
      issues.push(`the agent path must be absolute: ${agentPath}`);
    }
    agent = { kind: 'path', command: agentPath, args };
  } else {
    const installDir = nonEmpty(env['ALIYUN_ASSIST_INSTALL_DIR']) ?? DEFAULT_INSTALL_DIR;
    if (!isAbsolute(installDir)) {
      issues.push(`ALIYUN_ASSIST_INSTALL_DIR must be absolute: ${installDir}`);
    }
    agent = { kind: 'install-dir', installDir, args };
  }
  if (issues.length > 0) {
    throw new AgentError('CONFIG_INVALID', `invalid configuration: ${issues.join('; ')}`, { details: { issues } });
  }
  return deepFreeze({
    ...watchdogFiles(stateDir),
    logLevel: logLevel as WatchdogConfig['logLevel'],
    agent,
    budget: {
      cpuPercent: n.cpuPercent,
      pssBytes: Math.round(n.pssMib * MiB),
      rssBytes: Math.round(n.rssMib * MiB),
      strikes: n.strikes,
      warmupMs: n.warmupMs,
      livenessStaleMs: n.livenessStaleMs,
    },
    sampleIntervalMs: n.sampleMs,
    backoff: { initialMs: n.backoffMs, maxMs: n.backoffMaxMs, factor: 2, resetAfterUpMs: n.backoffResetMs },
    stopGraceMs: n.stopGraceMs,
  });
}

/**
 * Only the files, for `--status`, `--stop` and `--delete`: they must work even when some other
 * setting in the environment is invalid (an uninstall must not fail on a typo in a budget).
 */
export function loadWatchdogFiles(flags: Pick<WatchdogFlags, 'stateDir'>, env: Env): WatchdogFiles {
  const stateDir = stateDirOf(flags, env);
  if (!isAbsolute(stateDir)) {
    throw new AgentError('CONFIG_INVALID', `invalid configuration: the state dir must be absolute: ${stateDir}`);
  }
  return Object.freeze(watchdogFiles(stateDir));
}

function watchdogFiles(stateDir: string): WatchdogFiles {
  return {
    stateDir,
    pidFile: join(stateDir, 'assist_daemon.pid'),
    statusFile: join(stateDir, 'status.json'),
    logFile: join(stateDir, 'log', 'assist_daemon.log'),
    livenessFile: join(stateDir, 'agent.alive'),
  };
}

const stateDirOf = (flags: Pick<WatchdogFlags, 'stateDir'>, env: Env): string =>
  nonEmpty(flags.stateDir) ?? nonEmpty(env['ASSIST_DAEMON_STATE_DIR']) ?? DEFAULT_STATE_DIR;

export interface AgentCommand {
  command: string;
  args: readonly string[];
}

const VERSION_RE = /^\d+(\.\d+){3}$/;

/** The command to start now: for an install root, the version named in `<installDir>/version`. */
export function resolveAgentCommand(
  source: AgentSource,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): AgentCommand {
  if (source.kind === 'path') {
    return { command: source.command, args: source.args };
  }
  const versionFile = join(source.installDir, 'version');
  let version: string;
  try {
    version = readFile(versionFile).trim();
  } catch (e) {
    throw new AgentError('STATE_CORRUPT', `cannot read ${versionFile}`, { cause: e, retryable: true });
  }
  // The version names a directory: anything but a four-part version could point outside the root.
  if (!VERSION_RE.test(version)) {
    throw new AgentError('STATE_CORRUPT', `${versionFile} does not hold a version (n.n.n.n)`, {
      retryable: true,
      details: { version: version.slice(0, 64) },
    });
  }
  return { command: join(source.installDir, version, 'aliyun-service'), args: source.args };
}

const nonEmpty = (s: string | undefined): string | undefined =>
  s === undefined || s.trim() === '' ? undefined : s.trim();

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) {
    if (typeof v === 'object' && v !== null) {
      deepFreeze(v as object);
    }
  }
  return Object.freeze(o);
}
