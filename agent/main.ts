// Composition root of aliyun-service: wires identity, channel, heartbeat and the task engine, and
// runs them until the signal aborts. Startup order follows the stock agent (luban §11).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { userAgent, type Kick } from '../protocol/index.js';
import { detectColdStart, discoverServer, Heartbeat, NotifyChannel } from './channel/index.js';
import type { AgentConfig } from './config/index.js';
import { hostInfo, identityHeaderProvider, readMachineId } from './identity/index.js';
import {
  acquireInstanceLock,
  AgentError,
  createLogger,
  ExitCode,
  LivenessBeacon,
  parseProxyUrl,
  ServiceGroup,
  type Logger,
} from './shared/index.js';
import { HttpClient } from './http/index.js';
import { detectContainment, findSetpriv, type ProcessContainment } from './executor/index.js';
import { SystemPower, TaskEngine, posixRunAs, windowsRunAs, type RunAsPort } from './tasks/index.js';
import { Scheduler, systemClock } from './scheduler/index.js';
import { FileSender } from './files/index.js';
import { SelfUpdate } from './update/index.js';
import { createPluginSupervisor } from './plugins/index.js';
import { createSessionManager } from './session/index.js';

export interface RunAgentOptions {
  config: AgentConfig;
  signal: AbortSignal;
  /** Called once the agent has started (first heartbeat done, fetching enabled). */
  onStarted?: () => void;
  stopBudgetMs?: number;
}

/** The HTTPS client every agent part shares: stock User-Agent, configured CA, identity headers. */
export function createAgentHttpClient(config: AgentConfig): HttpClient {
  let caPem: string | undefined;
  if (config.certPath) {
    try {
      caPem = readFileSync(config.certPath, 'utf8');
    } catch (e) {
      throw new AgentError('CONFIG_INVALID', `ALIYUN_ASSIST_CERT_PATH ${config.certPath} is not readable`, {
        cause: e,
      });
    }
  }
  return new HttpClient({
    userAgent: userAgent(process.platform, process.arch, config.version),
    ...(caPem ? { caPem } : {}),
    ...(config.proxy ? { proxy: parseProxyUrl(config.proxy) } : {}),
    identityHeaders: identityHeaderProvider(config.paths.hybridDir),
  });
}

export function createAgentLogger(config: AgentConfig, alsoConsole = false): Logger {
  return createLogger({ file: config.paths.logFile, level: config.logLevel, console: alsoConsole });
}

/**
 * How tasks run as other users. setpriv is looked up once, now: without it such tasks get an
 * `error` report rather than running without their supplementary groups.
 */
function runAsPort(log: Logger): RunAsPort {
  if (process.platform === 'win32') {
    return windowsRunAs();
  }
  const setpriv = findSetpriv();
  if (setpriv === undefined) {
    log.warn('setpriv (util-linux) not found: commands cannot run as other users');
  } else {
    log.debug('run-as launcher', { setpriv });
  }
  return posixRunAs(setpriv);
}

/**
 * How each task's process tree is confined: a cgroup v2 per task where the agent may create them
 * (Linux, root, a writable cgroup2 hierarchy: under systemd the unit's delegated subtree), else its
 * process group only, which a process that calls setsid leaves. Logged once, at start.
 */
function taskContainment(log: Logger): ProcessContainment {
  const d = detectContainment({ warn: (msg, fields) => log.warn(msg, fields) });
  if (d.kind === 'cgroup-v2') {
    log.info('task containment', { kind: d.kind, cgroup: d.tasksDir, killFile: d.killFile });
  } else if (process.platform === 'linux') {
    log.warn('task containment: process group only; a task process that calls setsid survives Stop and Timeout', {
      kind: d.kind,
      reason: d.reason,
    });
  } else {
    log.info('task containment', { kind: d.kind, reason: d.reason });
  }
  return d.containment;
}

export async function runAgent(o: RunAgentOptions): Promise<ExitCode> {
  const { config } = o;
  const log = createAgentLogger(config);
  log.info('Starting......', { version: config.version, installDir: config.paths.installDir });
  const lock = acquireInstanceLock(join(config.paths.stateDir, 'aliyun-service.lock'));
  if (!lock) {
    log.error('another instance of the app is already running, exiting');
    return ExitCode.Fatal;
  }
  if (config.proxy) {
    // The stock agent's wording, which the product docs tell users to look for.
    log.info('Detected environment variable ALIYUN_ASSIST_PROXY for proxy setting', {
      proxy: parseProxyUrl(config.proxy).display,
    });
  }
  const http = createAgentHttpClient(config);
  const group = new ServiceGroup(log);
  // Under the watchdog: touched from the event loop from now on, including while the server is
  // still being looked for, so a blocked loop is noticed whatever the agent is doing.
  const liveness = config.livenessFile ? new LivenessBeacon({ file: config.livenessFile }) : undefined;
  let containment: ProcessContainment | undefined;
  try {
    await liveness?.start();
    const host = await discoverServer({ serverHost: config.serverHost, http, log, signal: o.signal });
    if (host === undefined) {
      return ExitCode.Ok;
    } // stopped before a server was found
    log.info('GET_HOST_OK', { host });

    const coldStart = config.bootMarkerDir ? detectColdStart(config.bootMarkerDir) : detectColdStart();
    const runAs = runAsPort(log);
    containment = taskContainment(log);
    const engine = new TaskEngine({
      host,
      http,
      log,
      paths: config.paths,
      power: new SystemPower(log),
      runAs,
      containment,
    });
    // Periodic tasks (cron, rate, at) go from the engine's fetches to the scheduler's timers, whose
    // ticks run through the engine's pool.
    const scheduler = new Scheduler({ pool: engine, log, clock: systemClock });
    engine.usePeriodic(scheduler);
    engine.useFiles(new FileSender({ log }));
    const sessions = createSessionManager({ host, http, log, config, containment });
    engine.useSessions((entries) => sessions.startEntries(entries));
    let fetchingEnabled = false;
    const onKick = (kick: Kick): 'accept' | 'reject' => {
      if (kick.type === 'session') {
        sessions.onKick(kick); // no fetch involved: sessions start before startup has finished too
        return 'accept';
      }
      if (!fetchingEnabled) {
        return 'accept';
      } // the startup fetch picks these up
      switch (kick.type) {
        case 'all':
          void engine.fetch({ reason: 'kickoff' });
          break;
        case 'task':
        case 'file':
          void engine.fetch({ reason: 'kickoff', taskId: kick.id });
          break;
        case 'agent':
          if (kick.action === 'update') {
            void updates.checkNow('kick');
            break;
          }
          log.info('kick not acted on', { kick: kick.type, action: kick.action });
          break;
        case 'noop':
          log.info('kick not acted on', { kick: kick.type });
          break;
      }
      return 'accept';
    };
    const channel = new NotifyChannel({
      host,
      http,
      log,
      onKick,
      // Kicks sent while the socket was down are lost: fetch after every reconnect. The server is
      // back, too: final reports waiting for a retry go now.
      onConnected: () => {
        engine.serverReachable();
        if (fetchingEnabled) {
          void engine.fetch({ reason: 'kickoff' });
        }
      },
    });
    const heartbeat = new Heartbeat({
      host,
      http,
      log,
      machineId: readMachineId(config.paths.hybridDir),
      coldStart,
      osVersion: hostInfo().osVersion,
      processStartedAt: Date.now() - Math.round(process.uptime() * 1000),
      ...(config.heartbeatIntervalMs ? { intervalMs: config.heartbeatIntervalMs } : {}),
    });
    // Checks for an update once a heartbeat got through, then every 30 min (updates run as a process of their own).
    const updates = new SelfUpdate({
      paths: config.paths,
      version: config.version,
      host,
      http,
      log,
      serverReached: () => heartbeat.successCount > 0,
      ...(config.updateIntervalMs ? { intervalMs: config.updateIntervalMs } : {}),
    });
    // Persistent plugins: health scan, heartbeat pull, restart, upgrades (spec/client-features.md §8.5).
    const plugins = createPluginSupervisor({ ...config.paths, host, http, log });
    await group.start([engine, scheduler, sessions, channel, heartbeat, updates, plugins]);
    fetchingEnabled = true;
    log.info('Started successfully', { host, coldStart });
    o.onStarted?.();
    await engine.fetch({ reason: 'startup', coldStart });
    await new Promise<void>((resolve) => {
      if (o.signal.aborted) {
        resolve();
      } else {
        o.signal.addEventListener('abort', () => resolve(), { once: true });
      }
    });
    log.info('Stopping ......');
    return ExitCode.Ok;
  } finally {
    await group.stop(o.stopBudgetMs ?? 10_000);
    // Task cgroups that have emptied since their task ended; those still holding processes the
    // tasks left running stay (the next agent removes them once empty).
    containment?.sweep();
    await liveness?.stop();
    http.close();
    lock.release();
    log.info('Stopped');
    await log.flush();
  }
}
