// Packages the repo's own plugins (plugins/<name>/, config.json at the root) into
// dist/plugins/<name>-<version>.zip: checked the way the control plane and the agent check a
// package, file modes kept, entries in name order so the same sources give the same bytes.
//   npx tsx scripts/build-plugins.ts
import { mkdirSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pluginDirEntries } from '../cli/commands/plugin.js';
import { inspectPluginPackage, writeZip } from '../protocol/index.js';

const ROOT = resolve(import.meta.dirname, '..');

/** Zips every plugins/<name>/; throws naming the plugin when one is not a valid package. */
export function buildPlugins(outDir = join(ROOT, 'dist', 'plugins'), srcDir = join(ROOT, 'plugins')): string[] {
  mkdirSync(outDir, { recursive: true });
  const outputs: string[] = [];
  for (const name of readdirSync(srcDir).sort()) {
    if (!statSync(join(srcDir, name)).isDirectory()) {
      continue;
    }
    const zip = writeZip(pluginDirEntries(join(srcDir, name)));
    const checked = inspectPluginPackage(zip);
    if (!checked.ok) {
      throw new Error(`plugins/${name}: ${checked.errors.join('; ')}`);
    }
    const out = join(outDir, `${checked.value.config.name}-${checked.value.config.version}.zip`);
    writeFileSync(out, zip);
    outputs.push(relative(ROOT, out));
  }
  return outputs;
}

const isEntry = process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename;
if (isEntry) {
  console.log(`build-plugins: ${buildPlugins().join(', ')}`);
}
