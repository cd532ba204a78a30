// assist plugin publish|list|retire|status: the plugin catalogue (extension actions PublishPlugin,
// ListPlugins, RetirePluginVersion) and ListPluginStatus.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Argv } from 'yargs';
import { inspectPluginPackage, writeZip, type ZipInput } from '../../protocol/index.js';
import type { Context, GlobalArgs } from '../context.js';
import { usageError } from '../errors.js';
import { println } from '../io.js';
import { renderTable } from '../table.js';
import { printJson } from './shared.js';

interface Plugin {
  PluginId: string;
  Name: string;
  Version: string;
  OsType: string;
  Arch: string;
  PluginType: string;
  Publisher: string;
  Md5: string;
  Size: number;
  Retired: boolean;
  CreationTime: string;
}

interface PluginStatusSet {
  InstancePluginStatusSet: {
    InstancePluginStatus: {
      InstanceId: string;
      PluginStatusSet: {
        PluginStatus: { PluginName: string; PluginVersion: string; PluginStatus: string; LastHeartbeatTime: string }[];
      };
    }[];
  };
  NextToken?: string;
}

type Args = GlobalArgs & { json: boolean };

export function pluginCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command('plugin', 'plugins: publish packages, list versions, retire one, see instance states', (c) =>
    c
      .command(
        'publish <path>',
        'publish a plugin: a directory with config.json at its root (zipped here) or a .zip',
        (l) =>
          l
            .positional('path', { type: 'string', demandOption: true })
            .option('description', { type: 'string', describe: 'shown in the catalogue' })
            .option('json', { type: 'boolean', default: false }),
        (a) => publish(ctx, a as unknown as Args & { path: string; description?: string }),
      )
      .command(
        'list [name]',
        'published plugin versions, newest first',
        (l) =>
          l
            .positional('name', { type: 'string' })
            .option('retired', { type: 'boolean', default: false, describe: 'include retired versions' })
            .option('json', { type: 'boolean', default: false }),
        (a) => list(ctx, a as unknown as Args & { name?: string; retired: boolean }),
      )
      .command(
        'retire <name> <version>',
        'stop offering a version to agents (installed copies stay)',
        (l) => l.positional('name', { type: 'string' }).positional('version', { type: 'string' }),
        (a) => retire(ctx, a as unknown as Args & { name: string; version: string }),
      )
      .command(
        'status [instances..]',
        "instances' plugin states (ListPluginStatus): one instance, or --name with any number",
        (l) =>
          l
            .positional('instances', { type: 'string', array: true })
            .option('name', { type: 'string', describe: 'the plugin' })
            .option('json', { type: 'boolean', default: false }),
        (a) => status(ctx, a as unknown as Args & { instances?: string[]; name?: string }),
      )
      .demandCommand(1, 'plugin needs a subcommand: publish, list, retire or status'),
  );
}

/**
 * A plugin directory as zip entries: names relative to it in name order (the same sources give the
 * same bytes), execute bits kept. Also packages the repo's own plugins (scripts/build-plugins.ts).
 */
export function pluginDirEntries(dir: string, base = dir): ZipInput[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      const st = statSync(path);
      return st.isDirectory()
        ? pluginDirEntries(path, base)
        : [{ name: relative(base, path).split('\\').join('/'), data: readFileSync(path), mode: st.mode & 0o755 }];
    });
}

/** The package to publish: the zip as is, or the directory zipped; checked here first for a clear error. */
export function packageOf(path: string): Buffer {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw usageError(`${path}: no such file or directory`);
  }
  const zip = st.isDirectory() ? writeZip(pluginDirEntries(path)) : readFileSync(path);
  const checked = inspectPluginPackage(zip);
  if (!checked.ok) {
    throw usageError(`${path} is not a valid plugin package: ${checked.errors.join('; ')}`);
  }
  return zip;
}

async function publish(ctx: Context, a: Args & { path: string; description?: string }) {
  const zip = packageOf(a.path);
  const r = await ctx.api(a).call<{ Plugin: Plugin }>('PublishPlugin', {
    Package: zip.toString('base64'),
    Description: a.description,
  });
  if (a.json) {
    printJson(ctx, r);
    return;
  }
  const p = r.Plugin;
  println(
    ctx.io.stdout,
    `published ${p.Name} ${p.Version} (${p.PluginType}, ${p.OsType || 'any OS'}/${p.Arch || 'any arch'}) as ${p.PluginId}, md5 ${p.Md5}`,
  );
}

async function list(ctx: Context, a: Args & { name?: string; retired: boolean }) {
  const r = await ctx.api(a).call<{ Plugins: { Plugin: Plugin[] } }>('ListPlugins', {
    Name: a.name,
    IncludeRetired: a.retired ? 'true' : undefined,
  });
  if (a.json) {
    printJson(ctx, r);
    return;
  }
  ctx.io.stdout.write(
    renderTable(
      ['NAME', 'VERSION', 'TYPE', 'OS', 'ARCH', 'PUBLISHER', 'SIZE', 'PUBLISHED', ...(a.retired ? ['RETIRED'] : [])],
      r.Plugins.Plugin.map((p) => [
        p.Name,
        p.Version,
        p.PluginType,
        p.OsType || 'any',
        p.Arch || 'any',
        p.Publisher,
        p.Size,
        p.CreationTime,
        ...(a.retired ? [p.Retired ? 'yes' : ''] : []),
      ]),
    ),
  );
}

async function retire(ctx: Context, a: Args & { name: string; version: string }) {
  const r = await ctx
    .api(a)
    .call<{ RetiredCount: number }>('RetirePluginVersion', { Name: a.name, PluginVersion: a.version });
  println(ctx.io.stdout, `retired ${a.name} ${a.version} (${r.RetiredCount} package(s))`);
}

async function status(ctx: Context, a: Args & { instances?: string[]; name?: string }) {
  const ids = a.instances ?? [];
  if (a.name === undefined && ids.length !== 1) {
    throw usageError('give one instance id, or --name <plugin> (with any number of instance ids, or none for all)');
  }
  const rows: string[][] = [];
  let token: string | undefined;
  const all: PluginStatusSet[] = [];
  do {
    const params: Record<string, string | number | undefined> = { Name: a.name, MaxResults: 50, NextToken: token };
    ids.forEach((id, i) => (params[`InstanceId.${i + 1}`] = id));
    const r = await ctx.api(a).call<PluginStatusSet>('ListPluginStatus', params);
    all.push(r);
    for (const inst of r.InstancePluginStatusSet.InstancePluginStatus) {
      for (const s of inst.PluginStatusSet.PluginStatus) {
        rows.push([inst.InstanceId, s.PluginName, s.PluginVersion, s.PluginStatus, s.LastHeartbeatTime]);
      }
    }
    token = r.NextToken;
  } while (token);
  if (a.json) {
    printJson(ctx, all.length === 1 ? all[0] : all);
    return;
  }
  ctx.io.stdout.write(renderTable(['INSTANCE', 'PLUGIN', 'VERSION', 'STATUS', 'LAST REPORT'], rows));
}
