// acs-plugin-manager's operations (spec/client-features.md §1.3, §8): list (online or local), exec
// (online, local or from a file), status of persistent plugins, remove, verify. Each returns the
// process's exit code: the plugin's own, or one of the manager's (exit-codes.ts). The agent's
// supervisor calls the same operations in-process.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  comparePluginVersions,
  DEFAULT_PLUGIN_TIMEOUT_S,
  inspectPluginPackage,
  pluginFits,
  type PluginConfig,
  type PluginInfo,
  type PluginStatus,
  type PluginStatusEntry,
} from '../../protocol/index.js';
import type { PluginCatalog } from './catalog.js';
import { isPluginError, PLUGIN_EXIT, PluginError } from './exit-codes.js';
import { installPackage, type Expected } from './install.js';
import { installedOf, loadInstalled, saveInstalled, versionDir, withRecord, type PluginDirs } from './installed.js';
import { withPluginLock } from './lock.js';
import { runPlugin } from './run-plugin.js';

/** The persistent-plugin verbs after which the plugin's state is reported (§8.3). */
const STATE_VERBS = ['--install', '--uninstall', '--start', '--stop', '--upgrade', '--restart'];
/** `--status` of a persistent plugin, when the manager asks (§8.5: 120 s for the whole scan). */
const STATUS_TIMEOUT_S = 30;

export interface ManagerContext {
  dirs: PluginDirs;
  os: string;
  arch: string;
  /** Undefined when no server is configured: online operations then fail with CHECK_ENDPOINT_FAIL. */
  catalog: PluginCatalog | undefined;
  /** The plugin's and the manager's output (stdout). */
  out: (text: string) => void;
  /** Error lines (stderr). */
  err: (line: string) => void;
  /** The environment plugins start from. */
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
}

export interface ExecRequest {
  name: string;
  version?: string;
  local: boolean;
  args: string[];
  /** Seconds; undefined = the plugin's own timeout. 0 = no limit. */
  timeoutS?: number;
  fetchTimeoutS?: number;
}

/** Runs `fn`, turning a manager failure into its error line and exit code. */
export async function guarded(ctx: ManagerContext, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (isPluginError(e)) {
      ctx.err(e.line());
      return e.exitCode;
    }
    throw e;
  }
}

function onlineCatalog(ctx: ManagerContext, where: string): PluginCatalog {
  if (!ctx.catalog) {
    throw new PluginError(where, 'CHECK_ENDPOINT_FAIL', 'no server configured (set ALIYUN_ASSIST_SERVER_HOST)');
  }
  return ctx.catalog;
}

async function onlineList(ctx: ManagerContext, where: string, name = '', version = ''): Promise<PluginInfo[]> {
  const catalog = onlineCatalog(ctx, where);
  try {
    return await catalog.list({ osType: ctx.os, pluginName: name, version, arch: ctx.arch });
  } catch (e) {
    throw new PluginError(where, 'GET_ONLINE_PACKAGE_INFO_ERR', (e as Error).message, { cause: e });
  }
}

const TABLE_COLUMNS = ['Name', 'Version', 'Publisher', 'OsType', 'Arch', 'PluginType'] as const;

function table(rows: readonly PluginInfo[]): string {
  const cells = [
    [...TABLE_COLUMNS],
    ...rows.map((p) => [p.name, p.version, p.publisher, p.osType, p.arch, p.pluginType]),
  ];
  const widths = TABLE_COLUMNS.map((_c, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return `${cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join(' | ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** `--list [--local] [--plugin name]`: removed plugins are hidden. */
export async function listPlugins(ctx: ManagerContext, o: { local: boolean; name?: string }): Promise<number> {
  let rows: PluginInfo[];
  if (o.local) {
    rows = loadInstalled(ctx.dirs).filter((p) => !p.isRemoved);
  } else {
    const all = await onlineList(ctx, 'ListPlugins', o.name ?? '');
    rows = newestPerName(all.filter((p) => !p.isRemoved && pluginFits(p, ctx.os, ctx.arch)));
  }
  if (o.name !== undefined) {
    rows = rows.filter((p) => p.name === o.name);
  }
  ctx.out(table(rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))));
  return 0;
}

function newestPerName(list: readonly PluginInfo[]): PluginInfo[] {
  const best = new Map<string, PluginInfo>();
  for (const p of list) {
    const cur = best.get(p.name);
    if (!cur || comparePluginVersions(p.version, cur.version) > 0) {
      best.set(p.name, p);
    }
  }
  return [...best.values()];
}

/**
 * `--exec --plugin <name>`: online (the newest fitting version, or `version`) unless `local`; the
 * local copy runs when its version equals the online one or nothing matches online. A failed
 * online query exits 243 without falling back (stock).
 */
export async function execPlugin(ctx: ManagerContext, r: ExecRequest): Promise<number> {
  const where = 'ExecutePluginOnlineOrLocal';
  let local = installedOf(loadInstalled(ctx.dirs), r.name);
  let justInstalled = false;
  let preDir = '';
  const current = (p: PluginInfo | undefined, version: string): boolean =>
    p !== undefined && p.version === version && installedDirOk(ctx, p);
  if (!r.local) {
    const online = newestPerName(
      (await onlineList(ctx, where, r.name, r.version ?? '')).filter(
        (p) => p.name === r.name && !p.isRemoved && pluginFits(p, ctx.os, ctx.arch),
      ),
    )[0];
    if (online && !current(local, online.version)) {
      await withPluginLock(ctx.dirs.lockDir, r.name, lockWaitMs(r.fetchTimeoutS), async () => {
        // Another process may have installed it meanwhile: read the records again under the lock.
        const list = loadInstalled(ctx.dirs);
        local = installedOf(list, r.name);
        if (current(local, online.version)) {
          return;
        }
        preDir = local ? versionDir(ctx.dirs, local.name, local.version) : '';
        const zip = await download(ctx, online, r.fetchTimeoutS);
        const installed = installPackage(
          ctx.dirs,
          zip,
          {
            md5: online.md5,
            ...(online.sha256 ? { sha256: online.sha256 } : {}),
            name: online.name,
            pluginType: online.pluginType,
          },
          ctx,
          where,
        );
        local = { ...online, ...recordFields(installed.config) };
        saveInstalled(ctx.dirs, withRecord(list, local));
        justInstalled = true;
      });
    }
  }
  if (!local || (r.local && r.version !== undefined && r.version !== local.version)) {
    throw new PluginError(
      where,
      'PACKAGE_NOT_FOUND',
      `plugin ${r.name}${r.version ? ` version ${r.version}` : ''} not found`,
    );
  }
  if (!installedDirOk(ctx, local)) {
    throw new PluginError(
      where,
      'PACKAGE_NOT_FOUND',
      `plugin ${r.name} ${local.version} is recorded but its files are missing`,
    );
  }
  const code = await runInstalled(ctx, local, r.args, r.timeoutS, preDir);
  await reportAfterRun(ctx, local, r.args, justInstalled);
  return code;
}

/** How long to wait for another process's install of the same plugin: the fetch limit (stock). */
const lockWaitMs = (fetchTimeoutS = 20): number => (fetchTimeoutS === 0 ? 3_600_000 : fetchTimeoutS * 1000 + 5_000);

/** Downloads a listed package (DOWNLOAD_FAIL when that fails). */
async function download(ctx: ManagerContext, p: PluginInfo, fetchTimeoutS = 20): Promise<Buffer> {
  try {
    return await onlineCatalog(ctx, 'DownloadPlugin').download(
      p.url,
      fetchTimeoutS === 0 ? 3_600_000 : fetchTimeoutS * 1000,
    );
  } catch (e) {
    throw new PluginError('DownloadPlugin', 'DOWNLOAD_FAIL', (e as Error).message, { cause: e });
  }
}

const installedDirOk = (ctx: ManagerContext, p: PluginInfo): boolean =>
  existsSync(join(versionDir(ctx.dirs, p.name, p.version), p.runPath));

/** The record fields that come from the package's own config.json. */
const recordFields = (c: PluginConfig): Partial<PluginInfo> => ({
  name: c.name,
  version: c.version,
  osType: c.osType,
  arch: c.arch,
  publisher: c.publisher,
  runPath: c.runPath,
  timeout: c.timeout,
  pluginType: c.pluginType,
  heartbeatInterval: c.heartbeatInterval,
  addSysTag: c.addSysTag,
  isRemoved: false,
});

const timeoutOf = (p: PluginInfo, override: number | undefined): number =>
  override ?? (p.timeout !== '' && Number.isFinite(Number(p.timeout)) ? Number(p.timeout) : DEFAULT_PLUGIN_TIMEOUT_S);

/** Runs an installed plugin's entry point: 247 at its time limit, 246 when it cannot start. */
async function runInstalled(
  ctx: ManagerContext,
  p: PluginInfo,
  args: string[],
  timeoutS: number | undefined,
  preDir: string,
  quiet = false,
): Promise<number> {
  const o = await runPlugin(
    {
      dir: versionDir(ctx.dirs, p.name, p.version),
      runPath: p.runPath,
      args,
      timeoutS: timeoutOf(p, timeoutS),
      preDir,
      env: ctx.env,
    },
    (chunk) => {
      if (!quiet) {
        ctx.out(chunk.toString('utf8'));
      }
    },
    ctx.signal,
  );
  switch (o.kind) {
    case 'exited':
      return o.exitCode;
    case 'timedOut':
      ctx.err(`ExecutePlugin EXECUTE_TIMEOUT_ERR: plugin ${p.name} ran longer than ${timeoutOf(p, timeoutS)} s`);
      return PLUGIN_EXIT.EXECUTE_TIMEOUT_ERR;
    case 'failed':
      ctx.err(`ExecutePlugin EXECUTE_FAILED_ERR: ${o.message}`);
      return PLUGIN_EXIT.EXECUTE_FAILED_ERR;
  }
}

/** A persistent plugin's state: its `--status` exit code (0 = running). */
export async function persistStatus(ctx: ManagerContext, p: PluginInfo): Promise<PluginStatus> {
  const code = await runInstalled(ctx, p, ['--status'], STATUS_TIMEOUT_S, '', true);
  return code === 0 ? 'PERSIST_RUNNING' : 'PERSIST_FAIL';
}

async function reportAfterRun(ctx: ManagerContext, p: PluginInfo, args: string[], justInstalled: boolean) {
  let status: PluginStatus | undefined;
  if (p.pluginType === 'Once') {
    status = justInstalled ? 'ONCE_INSTALLED' : undefined;
  } else if (justInstalled || args.some((a) => STATE_VERBS.includes(a))) {
    status = await persistStatus(ctx, p);
  }
  if (status) {
    await report(ctx, [{ name: p.name, status, version: p.version, ...(p.addSysTag ? { sysTagType: 'add' } : {}) }]);
  }
}

/** Best effort: a report that fails is logged on stderr and the run's exit code stands. */
async function report(ctx: ManagerContext, entries: PluginStatusEntry[]): Promise<void> {
  if (!ctx.catalog || entries.length === 0) {
    return;
  }
  try {
    await ctx.catalog.report(entries);
  } catch (e) {
    ctx.err(`ReportPluginStatus: ${(e as Error).message}`);
  }
}

/** `--exec --file <zip>`: installs from the file (even when not newer) and runs it. */
export async function execFromFile(
  ctx: ManagerContext,
  file: string,
  r: Omit<ExecRequest, 'name' | 'local' | 'version'>,
) {
  const where = 'ExecutePluginFromFile';
  let zip: Buffer;
  try {
    zip = readFileSync(file);
  } catch (e) {
    throw new PluginError(where, 'PACKAGE_NOT_FOUND', `${file}: ${(e as Error).message}`, { cause: e });
  }
  const inspected = inspectPluginPackage(zip);
  const name = inspected.ok ? inspected.value.config.name : undefined;
  const install = async () => {
    const list = loadInstalled(ctx.dirs);
    const installed = installPackage(ctx.dirs, zip, {}, ctx, where);
    const prev = installedOf(list, installed.config.name);
    if (prev && comparePluginVersions(installed.config.version, prev.version) <= 0) {
      ctx.out(`plugin ${installed.config.name} ${installed.config.version} is not newer, still install...\n`);
    }
    const record: PluginInfo = {
      pluginId: `local_${installed.config.name}_${installed.config.version}`,
      url: 'local',
      md5: '',
      isPreInstalled: 'false',
      ...(recordFields(installed.config) as Omit<PluginInfo, 'pluginId' | 'url' | 'md5' | 'isPreInstalled'>),
    };
    saveInstalled(ctx.dirs, withRecord(list, record));
    return { record, prev };
  };
  // An invalid package fails in installPackage, before any lock or write.
  const { record, prev } = name
    ? await withPluginLock(ctx.dirs.lockDir, name, lockWaitMs(r.fetchTimeoutS), install)
    : await install();
  ctx.out(`Plugin[${record.name}] installed!\n`);
  const preDir = prev && prev.version !== record.version ? versionDir(ctx.dirs, prev.name, prev.version) : '';
  return runInstalled(ctx, record, r.args, r.timeoutS, preDir);
}

/** `--status`: every installed persistent plugin's `--status`, printed as a JSON array and reported. */
export async function statusAll(ctx: ManagerContext): Promise<number> {
  const out: PluginStatusEntry[] = [];
  for (const p of loadInstalled(ctx.dirs)) {
    if (p.pluginType !== 'Persist') {
      continue;
    }
    const status: PluginStatus = p.isRemoved ? 'REMOVED' : await persistStatus(ctx, p);
    out.push({ name: p.name, status, version: p.version });
  }
  ctx.out(`${JSON.stringify(out)}\n`);
  await report(
    ctx,
    out.filter((e) => e.status !== 'REMOVED'),
  );
  return 0;
}

/** `--remove --plugin <name>`: persistent plugins are stopped and uninstalled first (§8.4). */
export function removePlugin(ctx: ManagerContext, name: string): Promise<number> {
  return withPluginLock(ctx.dirs.lockDir, name, lockWaitMs(), () => removeLocked(ctx, name));
}

async function removeLocked(ctx: ManagerContext, name: string): Promise<number> {
  const list = loadInstalled(ctx.dirs);
  const p = installedOf(list, name);
  if (!p) {
    ctx.err(`RemovePlugin error, plugin[${name}] is not installed`);
    return PLUGIN_EXIT.PACKAGE_NOT_FOUND;
  }
  if (p.pluginType === 'Persist' && installedDirOk(ctx, p)) {
    await runInstalled(ctx, p, ['--stop'], undefined, '', true);
    const code = await runInstalled(ctx, p, ['--uninstall'], undefined, '', true);
    if (code !== 0) {
      ctx.err(`RemovePlugin error, plugin[${name}] --uninstall exited ${code}`);
      return PLUGIN_EXIT.EXECUTE_FAILED_ERR;
    }
  }
  saveInstalled(ctx.dirs, withRecord(list, { ...p, isRemoved: true }));
  try {
    rmSync(join(ctx.dirs.root, name), { recursive: true, force: true });
  } catch (e) {
    ctx.err(`RemovePlugin error, ${(e as Error).message}`);
    return PLUGIN_EXIT.REMOVE_FILE_ERR;
  }
  await report(ctx, [
    { name, status: 'REMOVED', version: p.version, ...(p.addSysTag ? { sysTagType: 'remove' } : {}) },
  ]);
  ctx.out(`RemovePlugin success, plugin[${name}]\n`);
  return 0;
}

/**
 * `--verify --url <url>`: fetches a package (http(s):// or file://) into
 * `<ROOT>/plugin/verify_plugin_test/`, checks it as any package and runs it; nothing is recorded.
 */
export async function verifyPlugin(
  ctx: ManagerContext,
  url: string,
  r: Omit<ExecRequest, 'name' | 'local' | 'version'>,
) {
  const where = 'VerifyPlugin';
  let zip: Buffer;
  if (url.startsWith('file://')) {
    try {
      zip = readFileSync(new URL(url));
    } catch (e) {
      throw new PluginError(where, 'PACKAGE_NOT_FOUND', (e as Error).message, { cause: e });
    }
  } else if (/^https?:\/\//.test(url)) {
    zip = await download(ctx, { url } as PluginInfo, r.fetchTimeoutS);
  } else {
    throw new PluginError(where, 'PACKAGE_NOT_FOUND', `--url must be http(s):// or file://, got ${url}`);
  }
  const dirs: PluginDirs = { root: join(ctx.dirs.root, 'verify_plugin_test'), lockDir: ctx.dirs.lockDir };
  rmSync(dirs.root, { recursive: true, force: true });
  const installed = installPackage(dirs, zip, {}, ctx, where);
  const record = {
    ...recordFields(installed.config),
    md5: '',
    url,
    pluginId: '',
    isPreInstalled: 'false',
  } as PluginInfo;
  return runInstalled({ ...ctx, dirs }, record, r.args, r.timeoutS, '');
}

export type { Expected };
