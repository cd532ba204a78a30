// The agent's supervision of persistent plugins (spec/client-features.md §8.5, luban §9.2): a health
// scan (each plugin's `--status`), a heartbeat pull (each plugin's `heartbeat` file: stale after
// heartbeatInterval + 5 s), both reported with report_status; an unhealthy plugin is restarted
// (`--stop`, then `--start`); and an update check whose offers are installed and run `--upgrade`.
// Intervals: the stock defaults, or `<versionDir>/config/PluginCheckInterval`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  pluginArch,
  pluginOs,
  type PluginInfo,
  type PluginStatus,
  type PluginStatusEntry,
} from '../../protocol/index.js';
import type { Logger, Service } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { LubanPluginCatalog, type PluginCatalog } from './catalog.js';
import { execPlugin, guarded, persistStatus, type ManagerContext } from './manager.js';
import { loadInstalled, pluginDirs, versionDir, type PluginDirs } from './installed.js';

export interface PluginIntervals {
  scanMs: number;
  pullMs: number;
  updateMs: number;
}

export const DEFAULT_PLUGIN_INTERVALS: PluginIntervals = { scanMs: 900_000, pullMs: 300_000, updateMs: 1_800_000 };

/** Grace on top of a plugin's heartbeatInterval before its heartbeat counts as stale (stock). */
const HEARTBEAT_GRACE_S = 5;

/**
 * `pluginHealthScanInterval=N,pluginHealthPullInterval=N,pluginUpdateCheckInterval=N,…` (seconds);
 * unknown keys and bad values are ignored, as the stock agent does.
 */
export function parsePluginCheckInterval(text: string, base = DEFAULT_PLUGIN_INTERVALS): PluginIntervals {
  const out = { ...base };
  for (const part of text.split(',')) {
    const [k, v] = part.split('=').map((s) => s.trim());
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) {
      continue;
    }
    if (k === 'pluginHealthScanInterval') {
      out.scanMs = n * 1000;
    } else if (k === 'pluginHealthPullInterval') {
      out.pullMs = n * 1000;
    } else if (k === 'pluginUpdateCheckInterval') {
      out.updateMs = n * 1000;
    }
  }
  return out;
}

export function loadPluginIntervals(versionDirPath: string): PluginIntervals {
  try {
    return parsePluginCheckInterval(readFileSync(join(versionDirPath, 'config', 'PluginCheckInterval'), 'utf8'));
  } catch {
    return DEFAULT_PLUGIN_INTERVALS;
  }
}

/** Whether a persistent plugin's heartbeat file is fresh: Unix seconds written within the limit. */
export function heartbeatFresh(dir: string, intervalS: number, nowMs: number): boolean {
  let text: string;
  try {
    text = readFileSync(join(dir, 'heartbeat'), 'utf8').trim();
  } catch {
    return false;
  }
  const ts = Number(text);
  return Number.isFinite(ts) && nowMs / 1000 - ts <= intervalS + HEARTBEAT_GRACE_S;
}

export interface PluginSupervisorOptions {
  dirs: PluginDirs;
  catalog: PluginCatalog;
  log: Logger;
  os: string;
  arch: string;
  intervals: PluginIntervals;
  env: Record<string, string | undefined>;
}

export class PluginSupervisor implements Service {
  readonly name = 'plugins';
  readonly #o: PluginSupervisorOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #abort = new AbortController();
  #busy: Promise<void> = Promise.resolve();
  /** When each plugin was last (re)started by us: its heartbeat gets one interval to appear. */
  readonly #startedAt = new Map<string, number>();

  constructor(o: PluginSupervisorOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    const { scanMs, pullMs, updateMs } = this.#o.intervals;
    // Stock first runs: a random 0–60 s, plus 60 s and 120 s for the pull and the update check; an
    // interval shorter than that (PluginCheckInterval) shortens the first wait too.
    this.#every(scanMs, Math.min(scanMs, jitter(60_000)), () => this.scan());
    this.#every(pullMs, Math.min(pullMs, 60_000 + jitter(60_000)), () => this.pull());
    this.#every(updateMs, Math.min(updateMs, 120_000 + jitter(60_000)), () => this.updateCheck());
  }

  async stop(deadline: AbortSignal): Promise<void> {
    for (const t of this.#timers) {
      clearTimeout(t);
    }
    this.#timers.clear();
    this.#abort.abort();
    await Promise.race([this.#busy, new Promise((r) => deadline.addEventListener('abort', r, { once: true }))]);
  }

  /** Runs `job` after `firstMs`, then every `everyMs`; one job at a time across all timers. */
  #every(everyMs: number, firstMs: number, job: () => Promise<void>): void {
    const tick = (delay: number) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#busy = this.#busy
          .then(job)
          .catch((e: unknown) => this.#o.log.warn('plugin job failed', { err: e as Error }));
        void this.#busy.then(() => {
          if (!this.#abort.signal.aborted) {
            tick(everyMs);
          }
        });
      }, delay);
      t.unref();
      this.#timers.add(t);
    };
    tick(firstMs);
  }

  #ctx(): ManagerContext {
    return {
      dirs: this.#o.dirs,
      os: this.#o.os,
      arch: this.#o.arch,
      catalog: this.#o.catalog,
      out: () => {},
      err: (line) => this.#o.log.warn('plugin manager', { line: line.trimEnd() }),
      env: this.#o.env,
      signal: this.#abort.signal,
    };
  }

  #persistent(): PluginInfo[] {
    try {
      return loadInstalled(this.#o.dirs).filter((p) => p.pluginType === 'Persist' && !p.isRemoved);
    } catch (e) {
      this.#o.log.warn('installed plugins unreadable', { err: e as Error });
      return [];
    }
  }

  /** Health scan: `--status` of every persistent plugin (and its heartbeat); Once plugins reported installed. */
  async scan(): Promise<void> {
    const ctx = this.#ctx();
    const entries: PluginStatusEntry[] = [];
    const installed = (() => {
      try {
        return loadInstalled(this.#o.dirs).filter((p) => !p.isRemoved);
      } catch {
        return [];
      }
    })();
    const failing: PluginInfo[] = [];
    for (const p of installed) {
      if (p.pluginType === 'Once') {
        entries.push({ name: p.name, status: 'ONCE_INSTALLED', version: p.version });
        continue;
      }
      let status = await persistStatus(ctx, p);
      if (status === 'PERSIST_RUNNING' && this.#heartbeatStale(p)) {
        status = 'PERSIST_FAIL';
      }
      entries.push({ name: p.name, status, version: p.version });
      if (status === 'PERSIST_FAIL') {
        failing.push(p);
      }
    }
    await this.#report(entries);
    await this.#restart(failing);
  }

  /** Heartbeat pull: a persistent plugin whose heartbeat went stale is reported PERSIST_FAIL and restarted. */
  async pull(): Promise<void> {
    const entries: PluginStatusEntry[] = [];
    const failing: PluginInfo[] = [];
    for (const p of this.#persistent()) {
      const status: PluginStatus = this.#heartbeatStale(p) ? 'PERSIST_FAIL' : 'PERSIST_RUNNING';
      entries.push({ name: p.name, status, version: p.version });
      if (status === 'PERSIST_FAIL') {
        failing.push(p);
      }
    }
    await this.#report(entries);
    await this.#restart(failing);
  }

  #heartbeatStale(p: PluginInfo): boolean {
    const dir = versionDir(this.#o.dirs, p.name, p.version);
    const now = Date.now();
    if (heartbeatFresh(dir, p.heartbeatInterval, now)) {
      return false;
    }
    // Just (re)started: its first heartbeat may not be written yet.
    const started = this.#startedAt.get(`${p.name}@${p.version}`);
    return !(started !== undefined && now - started <= (p.heartbeatInterval + HEARTBEAT_GRACE_S) * 1000);
  }

  async #restart(failing: readonly PluginInfo[]): Promise<void> {
    const ctx = this.#ctx();
    for (const p of failing) {
      if (this.#abort.signal.aborted) {
        return;
      }
      this.#o.log.warn('persistent plugin unhealthy, restarting', { plugin: p.name, version: p.version });
      await guarded(ctx, () => execPlugin(ctx, { name: p.name, local: true, args: ['--stop'] }));
      this.#startedAt.set(`${p.name}@${p.version}`, Date.now());
      const code = await guarded(ctx, () => execPlugin(ctx, { name: p.name, local: true, args: ['--start'] }));
      this.#o.log.info('persistent plugin restarted', { plugin: p.name, version: p.version, exitCode: code });
    }
  }

  /** Update check: each newer version offered is installed and run with `--upgrade`. */
  async updateCheck(): Promise<void> {
    const persistent = this.#persistent();
    if (persistent.length === 0) {
      return;
    }
    const answer = await this.#o.catalog.updateCheck({
      os: this.#o.os,
      arch: this.#o.arch,
      plugin: persistent.map((p) => ({ name: p.name, version: p.version })),
    });
    const ctx = this.#ctx();
    for (const offer of answer.plugin) {
      this.#o.log.info('plugin upgrade', { plugin: offer.name, version: offer.version });
      this.#startedAt.set(`${offer.name}@${offer.version}`, Date.now());
      const code = await guarded(ctx, () =>
        execPlugin(ctx, {
          name: offer.name,
          version: offer.version,
          local: false,
          args: ['--upgrade'],
          timeoutS: offer.timeout + 5,
        }),
      );
      this.#o.log.info('plugin upgrade done', { plugin: offer.name, version: offer.version, exitCode: code });
    }
  }

  async #report(entries: PluginStatusEntry[]): Promise<void> {
    if (entries.length === 0) {
      return;
    }
    try {
      await this.#o.catalog.report(entries);
    } catch (e) {
      this.#o.log.warn('plugin status report failed', { err: e as Error });
    }
  }
}

const jitter = (maxMs: number): number => Math.floor(Math.random() * maxMs);

/** The supervisor the agent runs: its install dir's plugins, the server it found, PluginCheckInterval. */
export function createPluginSupervisor(o: {
  installDir: string;
  versionDir: string;
  host: string;
  http: HttpClient;
  log: Logger;
}): PluginSupervisor {
  return new PluginSupervisor({
    dirs: pluginDirs(o.installDir),
    catalog: new LubanPluginCatalog({ host: o.host, http: o.http }),
    log: o.log,
    os: pluginOs(process.platform),
    arch: pluginArch(process.arch),
    intervals: loadPluginIntervals(o.versionDir),
    // Plugins the agent starts get a clean environment, like tasks: nothing of the agent's leaks.
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' },
  });
}
