// The agent's side of self-update: once it has reached the control plane it tells a pending switch
// that it started, then checks for an update at start and every 30 minutes (and on an
// `agent update` kick). When one is worth installing it starts the updater, a process of its own
// that outlives this agent (agent/update/updater.ts), and leaves the rest to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ensureError, sleep, type AgentPaths, type Logger, type Service } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { isAlive } from './agent-process.js';
import { requestUpdateCheck } from './check.js';
import { decideUpdate, type UpdateDecision } from './policy.js';
import type { PackageRef } from './stage.js';
import { updateBlocker, UPDATER_NAME, type UpdateTrigger } from './update-flags.js';
import { UpdateState } from './update-state.js';

export const DEFAULT_UPDATE_INTERVAL_MS = 1_800_000;

export interface SelfUpdateOptions {
  paths: Pick<AgentPaths, 'installDir' | 'versionDir' | 'stateDir'>;
  version: string;
  host: string;
  http: HttpClient;
  log: Logger;
  /** True once the agent has reached the control plane (a heartbeat was answered). */
  serverReached: () => boolean;
  intervalMs?: number;
  /** Pause between update_check attempts (stock: 5 s). */
  retryDelayMs?: number;
  platform?: NodeJS.Platform;
}

export class SelfUpdate implements Service {
  readonly name = 'self-update';
  readonly #o: SelfUpdateOptions;
  readonly #log: Logger;
  readonly #state: UpdateState;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #checking: Promise<void> | undefined;
  #updater: ChildProcess | undefined;

  constructor(o: SelfUpdateOptions) {
    this.#o = o;
    this.#log = o.log.child({ svc: this.name });
    this.#state = new UpdateState(o.paths.stateDir);
  }

  start(): Promise<void> {
    this.#loop = this.#run().catch((e: unknown) => this.#log.error('self-update stopped', { err: ensureError(e) }));
    return Promise.resolve();
  }

  async stop(deadline: AbortSignal): Promise<void> {
    this.#stop.abort();
    await Promise.race([this.#loop, new Promise((r) => deadline.addEventListener('abort', r, { once: true }))]);
  }

  /** Checks now (a kick); a check already under way is not repeated. */
  checkNow(trigger: UpdateTrigger): Promise<void> {
    this.#checking ??= this.#check(trigger).finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!this.#o.serverReached()) {
      if (!(await sleep(500, signal))) {
        return;
      }
    }
    this.#confirmStarted();
    await this.checkNow('startup');
    while (await sleep(this.#o.intervalMs ?? DEFAULT_UPDATE_INTERVAL_MS, signal)) {
      await this.checkNow('periodic');
    }
  }

  /** A switch to this version waits for this word; a switch whose updater is gone is over. */
  #confirmStarted(): void {
    const p = this.#state.pending();
    if (!p) {
      return;
    }
    if (p.to === this.#o.version && isAlive(p.updaterPid)) {
      this.#state.markStarted(this.#o.version, process.pid);
      this.#log.info('started as the new version of an update', { from: p.from, rollback: p.rollback === true });
    } else if (!isAlive(p.updaterPid)) {
      this.#state.clearPending();
      this.#log.warn('update left unfinished by an updater that is gone', { from: p.from, to: p.to });
    }
  }

  async #check(trigger: UpdateTrigger): Promise<void> {
    const blocked = updateBlocker(this.#o.paths, trigger, this.#o.platform);
    if (blocked) {
      this.#log.debug('update check skipped', { trigger, reason: blocked });
      return;
    }
    const pending = this.#state.pending();
    if (this.#updaterRunning() || (pending && isAlive(pending.updaterPid))) {
      this.#log.debug('update check skipped', { trigger, reason: 'an update is in progress' });
      return;
    }
    let decision: UpdateDecision;
    try {
      const response = await requestUpdateCheck({
        host: this.#o.host,
        http: this.#o.http,
        version: this.#o.version,
        signal: this.#stop.signal,
        ...(this.#o.retryDelayMs !== undefined ? { retryDelayMs: this.#o.retryDelayMs } : {}),
      });
      decision = decideUpdate({
        response,
        currentVersion: this.#o.version,
        badVersions: this.#state.badVersions(),
      });
    } catch (e) {
      if (!this.#stop.signal.aborted) {
        this.#log.warn('update check failed', { trigger, err: ensureError(e) });
      }
      return;
    }
    if (decision.action === 'skip') {
      const fields = { trigger, reason: decision.reason, version: decision.version };
      if (decision.reason === 'no-update') {
        this.#log.debug('no update', fields);
      } else {
        this.#log.info('update not installed', fields);
      }
      return;
    }
    this.#startUpdater(decision.version, decision.pkg);
  }

  #updaterRunning(): boolean {
    return this.#updater !== undefined && this.#updater.exitCode === null && this.#updater.signalCode === null;
  }

  /** A new session and no stdio: the updater outlives this agent, which it stops. */
  #startUpdater(version: string, pkg: PackageRef): void {
    const updater = join(this.#o.paths.versionDir, UPDATER_NAME);
    const args = [
      '--force_update',
      '--url',
      pkg.url,
      '--md5',
      pkg.md5,
      ...(pkg.sha256 ? ['--sha256', pkg.sha256] : []),
    ];
    const child = spawn(updater, args, { detached: true, stdio: 'ignore' });
    child.on('error', (err) => this.#log.warn('updater did not start', { updater, err }));
    child.on('exit', (code, signal) => this.#log.info('updater exited', { version, code, signal }));
    child.unref();
    this.#updater = child;
    this.#log.info('update offered: updater started', { version, updaterPid: child.pid });
  }
}
