// The updater's run (aliyun_assist_update, a process of its own so that it outlives the agent it
// replaces): stage the package beside the running version, wait for running tasks to finish, switch
// with the new version's update_install, make sure the old agent stops, then wait for the new one to
// start and reach the control plane. A version that does not is recorded as bad and the previous
// version is brought back the same way.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { versionFromUpdateUrl } from '../../protocol/index.js';
import { acquireInstanceLock, ensureError, sleep, type Logger } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { isAlive, runInstallScript, runningAgentPid, startAgent, stopProcess, waitForIdle } from './agent-process.js';
import { healthVerdict, type HealthVerdict } from './policy.js';
import { INSTALL_SCRIPT, stagePackage, type PackageRef } from './stage.js';
import { UpdateError } from './update-errors.js';
import { UpdateState } from './update-state.js';
import type { UpdaterSettings } from './updater-config.js';
import { pruneVersions, removeVersion, writeActiveVersion } from './versions.js';

export const UPDATER_LOCK_FILE = 'aliyun_assist_update.lock';

export interface UpdaterOptions {
  installDir: string;
  stateDir: string;
  /** The version running now: this updater's own, the one to go back to. */
  currentVersion: string;
  pkg: PackageRef;
  http: HttpClient;
  log: Logger;
  settings: UpdaterSettings;
  /** The environment update_install and a self-started agent get. */
  env: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  arch?: string;
}

export interface UpdateOutcome {
  from: string;
  to: string;
  /** False when no agent was running, so there was nothing to health-check. */
  verified: boolean;
  /** Version directories removed afterwards. */
  removed: string[];
}

export async function runUpdater(o: UpdaterOptions): Promise<UpdateOutcome> {
  const lock = acquireInstanceLock(join(o.stateDir, UPDATER_LOCK_FILE));
  if (!lock) {
    throw new UpdateError('VersionRefused', 'another instance of the app is already running');
  }
  try {
    return await update(o, new UpdateState(o.stateDir));
  } finally {
    lock.release();
  }
}

async function update(o: UpdaterOptions, state: UpdateState): Promise<UpdateOutcome> {
  const to = versionFromUpdateUrl(o.pkg.url);
  const from = o.currentVersion;
  if (to === undefined) {
    throw new UpdateError('CheckUpdateFailed', `no version in the package URL ${o.pkg.url}`);
  }
  if (to === from) {
    throw new UpdateError('VersionRefused', `${to} is the running version`);
  }
  const bad = state.badVersions()[to];
  if (bad) {
    throw new UpdateError('VersionRefused', `${to} failed here before (${bad.reason}); it is not installed again`);
  }
  const log = o.log.child({ from, to });
  log.info('update started', { url: o.pkg.url });
  await stagePackage({
    installDir: o.installDir,
    pkg: o.pkg,
    http: o.http,
    log,
    downloadTimeoutMs: o.settings.downloadTimeoutMs,
    ...(o.platform ? { platform: o.platform } : {}),
    ...(o.arch ? { arch: o.arch } : {}),
  });
  const idle = await waitForIdle({
    stateDir: o.stateDir,
    timeoutMs: o.settings.taskWaitMs,
    pollMs: o.settings.pollMs,
    onBusy: (tasks) => log.info('update waits for running tasks', { tasks }),
  });
  if (!idle) {
    throw new UpdateError('TasksStillRunning', `tasks still ran after ${o.settings.taskWaitMs} ms`);
  }
  const previousPid = runningAgentPid(o.stateDir);
  state.setPending({ from, to, updaterPid: process.pid, startedAt: new Date().toISOString() });
  try {
    await activate(o, to, previousPid, log);
  } catch (e) {
    const err = ensureError(e);
    state.markBad(to, err.message);
    log.error('update script failed: going back', { err });
    await rollBack(o, state, { bad: to, good: from, previousPid }, log);
    throw e;
  }
  if (previousPid === undefined) {
    state.clearPending();
    log.warn('update switched while no agent was running: not health-checked');
    return { from, to, verified: false, removed: pruneVersions(o.installDir, [to, from]) };
  }
  const verdict = await waitHealthy(o, state, to, previousPid);
  if (verdict === 'healthy') {
    state.clearPending();
    const removed = pruneVersions(o.installDir, [to, from]);
    log.info('update done', { agentPid: state.started()?.pid, removed });
    return { from, to, verified: true, removed };
  }
  const why = `did not start and reach the control plane within ${o.settings.healthTimeoutMs} ms`;
  state.markBad(to, why);
  log.error('update failed its health check: going back', { why });
  await rollBack(o, state, { bad: to, good: from, previousPid }, log);
  throw new UpdateError('HealthCheckFailed', `${to} ${why}; back to ${from}`);
}

/**
 * Makes `version` the active one with its update_install, which restarts the agent when a service
 * manager runs it. When the old agent is still running afterwards nothing restarted it: it is
 * stopped here, and without a supervisor to start the new version the updater starts it.
 */
async function activate(o: UpdaterOptions, version: string, previousPid: number | undefined, log: Logger) {
  const out = await runInstallScript({
    installDir: o.installDir,
    version,
    timeoutMs: o.settings.scriptTimeoutMs,
    env: o.env,
  });
  log.info('update script done', { version, output: out });
  if (previousPid !== undefined && isAlive(previousPid)) {
    log.info('stopping the old agent', { agentPid: previousPid, supervisor: o.settings.supervisor });
    await stopProcess(previousPid, o.settings.stopGraceMs);
    if (o.settings.supervisor === 'none') {
      log.info('starting the agent', { version, agentPid: startAgent(o.installDir, version, o.env) });
    }
  }
}

/** Back to `good` after `bad` failed; `bad` is already recorded. Logs, never throws. */
async function rollBack(
  o: UpdaterOptions,
  state: UpdateState,
  v: { bad: string; good: string; previousPid: number | undefined },
  log: Logger,
): Promise<void> {
  state.setPending({
    from: v.bad,
    to: v.good,
    updaterPid: process.pid,
    startedAt: new Date().toISOString(),
    rollback: true,
  });
  const brokenPid = runningAgentPid(o.stateDir);
  try {
    if (hasInstallScript(o.installDir, v.good)) {
      await reactivate(o, v.good, log);
    } else {
      writeActiveVersion(o.installDir, v.good);
    }
  } catch (e) {
    log.error('rollback script failed: pointing at the previous version directly', { err: ensureError(e) });
    writeActiveVersion(o.installDir, v.good);
  }
  const oldStillRuns = v.previousPid !== undefined && isAlive(v.previousPid);
  if (!oldStillRuns) {
    const running = runningAgentPid(o.stateDir);
    if (running !== undefined && running === brokenPid) {
      log.info('stopping the failed version', { agentPid: running });
      await stopProcess(running, o.settings.stopGraceMs);
    }
    if (o.settings.supervisor === 'none' && v.previousPid !== undefined && !(await agentAppears(o))) {
      log.info('starting the agent', { version: v.good, agentPid: startAgent(o.installDir, v.good, o.env) });
    }
  }
  const verdict = oldStillRuns ? 'healthy' : await waitHealthy(o, state, v.good, brokenPid);
  state.clearPending();
  removeVersion(o.installDir, v.bad);
  if (verdict === 'healthy') {
    log.warn('rolled back', { version: v.good, failed: v.bad });
  } else {
    log.error('rolled back, but the previous version did not come back either', { version: v.good });
  }
}

/** update_install of the version to go back to; its own restart of the agent is all we need from it. */
async function reactivate(o: UpdaterOptions, version: string, log: Logger): Promise<void> {
  const out = await runInstallScript({
    installDir: o.installDir,
    version,
    timeoutMs: o.settings.scriptTimeoutMs,
    env: o.env,
  });
  log.info('rollback script done', { version, output: out });
}

const hasInstallScript = (installDir: string, version: string): boolean =>
  statSync(join(installDir, version, INSTALL_SCRIPT), { throwIfNoEntry: false })?.isFile() === true;

/** An init script's restart may take a moment to take the agent's lock: give it a few polls. */
async function agentAppears(o: UpdaterOptions): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    if (runningAgentPid(o.stateDir) !== undefined) {
      return true;
    }
    await sleep(o.settings.pollMs);
  }
  return runningAgentPid(o.stateDir) !== undefined;
}

async function waitHealthy(
  o: UpdaterOptions,
  state: UpdateState,
  target: string,
  previousPid: number | undefined,
): Promise<HealthVerdict> {
  const deadlineMs = Date.now() + o.settings.healthTimeoutMs;
  for (;;) {
    const verdict = healthVerdict({
      target,
      started: state.started(),
      previousPid,
      isAlive,
      nowMs: Date.now(),
      deadlineMs,
    });
    if (verdict !== 'waiting') {
      return verdict;
    }
    await sleep(o.settings.pollMs);
  }
}
