// A plugin package as both sides check it: a safe zip with config.json at its root whose runPath
// names a regular file of the package. The control plane checks it on publish, the agent again
// before it unpacks anything.
import { parsePluginConfig, type PluginConfig } from './plugins.js';
import type { Validated } from './validate.js';
import { entryData, readZipEntries, UnsafeZipError, type UnzipLimits, type ZipEntry } from './zip.js';

/** A plugin unpacks to at most this much (the stock manager has no limit; ours keeps disks safe). */
export const MAX_PLUGIN_UNPACKED_BYTES = 256 * 2 ** 20;

export interface InspectedPlugin {
  config: PluginConfig;
  entries: ZipEntry[];
}

/** Which check a package failed: the zip itself (unsafe or damaged) or its config.json. */
export type PluginPackageProblem = 'zip' | 'config';

export function inspectPluginPackage(
  zip: Buffer,
  limits: UnzipLimits = { maxTotalBytes: MAX_PLUGIN_UNPACKED_BYTES },
): Validated<InspectedPlugin> & { problem?: PluginPackageProblem } {
  let entries: ZipEntry[];
  try {
    entries = readZipEntries(zip, '', limits);
  } catch (e) {
    const message = e instanceof UnsafeZipError ? e.message : `not a readable zip (${(e as Error).message})`;
    return { ok: false, errors: [message], problem: 'zip' };
  }
  const configEntry = entries.find((e) => e.name === 'config.json' && e.kind === 'file');
  if (!configEntry) {
    return { ok: false, errors: ['config.json is missing from the package root'], problem: 'config' };
  }
  let json: unknown;
  try {
    json = JSON.parse(
      entryData(zip, configEntry)
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
    );
  } catch (e) {
    const message = e instanceof UnsafeZipError ? e.message : `config.json is not JSON (${(e as Error).message})`;
    return { ok: false, errors: [message], problem: e instanceof UnsafeZipError ? 'zip' : 'config' };
  }
  const parsed = parsePluginConfig(json);
  if (!parsed.ok) {
    return { ...parsed, problem: 'config' };
  }
  const runPath = parsed.value.runPath.replace(/\\/g, '/');
  if (!entries.some((e) => e.name === runPath && e.kind === 'file')) {
    return { ok: false, errors: [`config.json: runPath ${runPath} is not a file of the package`], problem: 'config' };
  }
  return { ok: true, value: { config: parsed.value, entries } };
}
