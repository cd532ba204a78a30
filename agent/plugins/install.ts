// Installs a plugin package: digests checked (MD5 as stock, SHA-256 when the catalogue gives it),
// the zip and its config.json checked whole (protocol/plugin-package.ts) before a byte is written,
// unpacked into a fresh directory that then replaces `<ROOT>/plugin/<name>/<version>/`.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inspectPluginPackage, pluginFits, type PluginConfig, type PluginType } from '../../protocol/index.js';
import { extractZip } from '../update/index.js';
import { PluginError } from './exit-codes.js';
import { versionDir, type PluginDirs } from './installed.js';

export interface Expected {
  md5?: string;
  sha256?: string;
  /** The name and type the catalogue listed the package under. */
  name?: string;
  pluginType?: PluginType;
}

export interface Installed {
  config: PluginConfig;
  dir: string;
}

export function checkDigests(zip: Buffer, expect: Expected, where: string): void {
  if (expect.md5 !== undefined && expect.md5 !== '') {
    const md5 = createHash('md5').update(zip).digest('hex');
    if (md5.toLowerCase() !== expect.md5.toLowerCase()) {
      throw new PluginError(where, 'MD5_CHECK_FAIL', `package MD5 ${md5} does not match ${expect.md5}`);
    }
  }
  if (expect.sha256 !== undefined && expect.sha256 !== '') {
    const sha = createHash('sha256').update(zip).digest('hex');
    if (sha.toLowerCase() !== expect.sha256.toLowerCase()) {
      throw new PluginError(where, 'MD5_CHECK_FAIL', `package SHA-256 ${sha} does not match ${expect.sha256}`);
    }
  }
}

/** Checks `zip` completely, then unpacks it as its config.json's name and version. Nothing runs here. */
export function installPackage(
  dirs: PluginDirs,
  zip: Buffer,
  expect: Expected,
  host: { os: string; arch: string },
  where: string,
): Installed {
  checkDigests(zip, expect, where);
  const inspected = inspectPluginPackage(zip);
  if (!inspected.ok) {
    const code = inspected.problem === 'zip' ? 'UNZIP_ERR' : 'PLUGIN_FORMAT_ERR';
    throw new PluginError(where, code, inspected.errors.join('; '));
  }
  const config = inspected.value.config;
  if (expect.name !== undefined && expect.name !== config.name) {
    throw new PluginError(where, 'PLUGIN_FORMAT_ERR', `package is plugin ${config.name}, not ${expect.name}`);
  }
  if (expect.pluginType !== undefined && expect.pluginType !== config.pluginType) {
    throw new PluginError(
      where,
      'PLUGIN_FORMAT_ERR',
      `package is a ${config.pluginType} plugin, listed as ${expect.pluginType}`,
    );
  }
  if (!pluginFits(config, host.os, host.arch)) {
    throw new PluginError(
      where,
      'PLUGIN_FORMAT_ERR',
      `package is for ${config.osType || 'any OS'}/${config.arch || 'any arch'}, this host is ${host.os}/${host.arch}`,
    );
  }
  mkdirSync(join(dirs.root, config.name), { recursive: true, mode: 0o755 });
  const staging = join(dirs.root, config.name, `.staging-${randomBytes(6).toString('hex')}`);
  mkdirSync(staging, { mode: 0o755 });
  const dir = versionDir(dirs, config.name, config.version);
  try {
    extractZip(zip, '', staging);
    chmodSync(join(staging, config.runPath), 0o744);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    if (e instanceof PluginError) {
      throw e;
    }
    throw new PluginError(where, 'UNZIP_ERR', (e as Error).message, { cause: e });
  }
  return { config, dir };
}
