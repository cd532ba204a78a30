// The installed-plugin records, `<ROOT>/plugin/installed_plugins`: the stock manager's legacy JSON
// file (`{"pluginList":[PluginInfo…]}`). The stock BoltDB successor is not read (no Go/Bolt here);
// the agent and every acs-plugin-manager process share this file, replaced atomically on write.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isObj, parsePluginInfo, type PluginInfo } from '../../protocol/index.js';
import { PluginError } from './exit-codes.js';

export interface PluginDirs {
  /** `<ROOT>/plugin`: installed_plugins and `<name>/<version>/`. */
  root: string;
  /** `<ROOT>/cache/plugin-manager`: the per-plugin locks. */
  lockDir: string;
}

export const pluginDirs = (installDir: string): PluginDirs => ({
  root: join(installDir, 'plugin'),
  lockDir: join(installDir, 'cache', 'plugin-manager'),
});

/** Where a plugin version is unpacked. */
export const versionDir = (dirs: PluginDirs, name: string, version: string): string => join(dirs.root, name, version);

const dbFile = (dirs: PluginDirs) => join(dirs.root, 'installed_plugins');

export function loadInstalled(dirs: PluginDirs): PluginInfo[] {
  let text: string;
  try {
    text = readFileSync(dbFile(dirs), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return [];
    }
    throw new PluginError('LoadInstalledPlugins', 'LOAD_INSTALLEDPLUGINS_ERR', (e as Error).message, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PluginError('LoadInstalledPlugins', 'LOAD_INSTALLEDPLUGINS_ERR', `installed_plugins is not JSON`, {
      cause: e,
    });
  }
  const list = isObj(json) && Array.isArray(json['pluginList']) ? json['pluginList'] : [];
  return list.map(parsePluginInfo).filter((p): p is PluginInfo => p !== undefined);
}

export function saveInstalled(dirs: PluginDirs, list: readonly PluginInfo[]): void {
  try {
    mkdirSync(dirs.root, { recursive: true, mode: 0o755 });
    const tmp = `${dbFile(dirs)}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ pluginList: list }, null, 4)}\n`, { mode: 0o644 });
    renameSync(tmp, dbFile(dirs));
  } catch (e) {
    throw new PluginError('DumpInstalledPlugins', 'DUMP_INSTALLEDPLUGINS_ERR', (e as Error).message, { cause: e });
  }
}

/** The live (not removed) record of `name`, if any. */
export const installedOf = (list: readonly PluginInfo[], name: string): PluginInfo | undefined =>
  list.find((p) => p.name === name && !p.isRemoved);

/** `list` with `info` as the one record of its name (a removed record is replaced). */
export const withRecord = (list: readonly PluginInfo[], info: PluginInfo): PluginInfo[] => [
  ...list.filter((p) => p.name !== info.name),
  info,
];
