// The plugin catalogue (operators publish, list and retire plugin packages; agents list, download
// and get upgrades from it) and each instance's plugin statuses (report_status, ListPluginStatus).
// Packages live in the store, so every node of a cluster serves the same ones.
import { createHash, randomBytes } from 'node:crypto';
import {
  comparePluginVersions,
  inspectPluginPackage,
  pluginFits,
  type PluginInfo,
  type PluginStatusEntry,
  type PluginType,
} from '../../protocol/index.js';
import { ApiError, isoTime } from '../shared/index.js';
import type { Db, PluginVersionTable } from '../store/index.js';
import { valuesOf } from '../store/index.js';
import { keysetPage, type Paging } from './paging.js';

/** Where agents download packages: `${PLUGIN_PACKAGES_PATH}/<pluginId>/<name>.zip` (plain GETs). */
export const PLUGIN_PACKAGES_PATH = '/assist/plugins';

/** A published package's zip may be this large: base64 and percent-encoded, it fits the 2 MiB OpenAPI form body. */
export const MAX_PLUGIN_PACKAGE_BYTES = 1024 * 1024;

/** ListPluginStatus: `InstanceId.N`, N from 1 to 50 (SDK model). */
export const MAX_PLUGIN_STATUS_INSTANCES = 50;

/** The agent's status as ListPluginStatus names it (the product's values). */
const STATUS_NAMES: Record<string, string> = {
  PERSIST_RUNNING: 'Running',
  PERSIST_FAIL: 'Crashed',
  PERSIST_UNKNOWN: 'Unknown',
  ONCE_INSTALLED: 'Installed',
  REMOVED: 'Removed',
};

type VersionRow = Omit<PluginVersionTable, 'package'>;

export interface PublishedPlugin {
  PluginId: string;
  Name: string;
  Version: string;
  OsType: string;
  Arch: string;
  PluginType: PluginType;
  Publisher: string;
  RunPath: string;
  Timeout: string;
  HeartbeatInterval: number;
  Description: string;
  Md5: string;
  Sha256: string;
  Size: number;
  Retired: boolean;
  CreationTime: string;
}

const described = (r: VersionRow): PublishedPlugin => ({
  PluginId: r.plugin_id,
  Name: r.name,
  Version: r.version,
  OsType: r.os_type,
  Arch: r.arch,
  PluginType: r.plugin_type === 'Persist' ? 'Persist' : 'Once',
  Publisher: r.publisher,
  RunPath: r.run_path,
  Timeout: r.timeout,
  HeartbeatInterval: r.heartbeat_interval,
  Description: r.description,
  Md5: r.md5,
  Sha256: r.sha256,
  Size: r.size,
  Retired: r.retired === 1,
  CreationTime: isoTime(r.created_at),
});

const VERSION_COLUMNS = [
  'plugin_id',
  'name',
  'version',
  'os_type',
  'arch',
  'plugin_type',
  'run_path',
  'timeout',
  'publisher',
  'heartbeat_interval',
  'add_sys_tag',
  'description',
  'md5',
  'sha256',
  'size',
  'retired',
  'created_at',
] as const;

export class PluginService {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Publishes a package (the zip's bytes). Publishing the same bytes again answers the existing
   * version; other bytes under a name, version, OS and arch already published are refused.
   */
  async publish(zip: Buffer, description: string, now: number): Promise<PublishedPlugin> {
    if (zip.length === 0) {
      throw new ApiError('InvalidParameter.Package', 'The package is empty.');
    }
    if (zip.length > MAX_PLUGIN_PACKAGE_BYTES) {
      throw new ApiError('InvalidParameter.Package', `The package is larger than ${MAX_PLUGIN_PACKAGE_BYTES} bytes.`);
    }
    if (description.length > 512) {
      throw new ApiError('InvalidParameter', 'The specified parameter "Description" is longer than 512 characters.');
    }
    const inspected = inspectPluginPackage(zip);
    if (!inspected.ok) {
      throw new ApiError('InvalidParameter.Package', `The plugin package is refused: ${inspected.errors.join('; ')}`);
    }
    const c = inspected.value.config;
    const md5 = createHash('md5').update(zip).digest('hex');
    const sha256 = createHash('sha256').update(zip).digest('hex');
    return this.#db.transaction().execute(async (tx) => {
      const existing = await tx
        .selectFrom('plugin_versions')
        .select(VERSION_COLUMNS)
        .where('name', '=', c.name)
        .where('version', '=', c.version)
        .where('os_type', '=', c.osType)
        .where('arch', '=', c.arch)
        .executeTakeFirst();
      if (existing) {
        if (existing.sha256 === sha256) {
          return described(existing);
        }
        throw new ApiError(
          'PluginVersion.AlreadyExists',
          `Plugin ${c.name} version ${c.version} (${c.osType || 'any OS'}, ${c.arch || 'any arch'}) is already published with other content; publish a new version.`,
        );
      }
      const row: PluginVersionTable = {
        plugin_id: `pl-${randomBytes(10).toString('hex')}`,
        name: c.name,
        version: c.version,
        os_type: c.osType,
        arch: c.arch,
        plugin_type: c.pluginType,
        run_path: c.runPath,
        timeout: c.timeout,
        publisher: c.publisher,
        heartbeat_interval: c.heartbeatInterval,
        add_sys_tag: c.addSysTag ? 1 : 0,
        description,
        md5,
        sha256,
        size: zip.length,
        package: zip,
        retired: 0,
        created_at: now,
      };
      await tx.insertInto('plugin_versions').values(row).execute();
      const { package: _zip, ...rest } = row;
      return described(rest);
    });
  }

  /** Published versions, newest first per name; `name` filters; retired ones only when asked. */
  async listVersions(f: { name?: string; includeRetired: boolean }): Promise<PublishedPlugin[]> {
    let q = this.#db.selectFrom('plugin_versions').select(VERSION_COLUMNS);
    if (f.name !== undefined) {
      q = q.where('name', '=', f.name);
    }
    if (!f.includeRetired) {
      q = q.where('retired', '=', 0);
    }
    const rows = await q.execute();
    return rows
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : comparePluginVersions(b.version, a.version)))
      .map(described);
  }

  /** Retires every package of `name` at `version` (all OS/arch builds): agents are no longer offered it. */
  async retire(name: string, version: string): Promise<{ RetiredCount: number }> {
    const r = await this.#db
      .updateTable('plugin_versions')
      .set({ retired: 1 })
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    const n = Number(r.numUpdatedRows);
    if (n === 0) {
      throw new ApiError('InvalidPlugin.NotFound', `No plugin ${name} version ${version} is published.`);
    }
    return { RetiredCount: n };
  }

  /**
   * The luban plugin list for one agent: live packages fitting its OS and arch, `pluginName` and
   * `version` filtering ('' = any), URLs on the host the agent reached.
   */
  async listFor(
    q: { osType: string; arch: string; pluginName: string; version: string },
    host: string,
  ): Promise<PluginInfo[]> {
    let query = this.#db.selectFrom('plugin_versions').select(VERSION_COLUMNS).where('retired', '=', 0);
    if (q.pluginName !== '') {
      query = query.where('name', '=', q.pluginName);
    }
    if (q.version !== '') {
      query = query.where('version', '=', q.version);
    }
    const rows = await query.execute();
    const os = q.osType.toLowerCase();
    const arch = q.arch.toLowerCase();
    return rows
      .filter((r) => pluginFits({ osType: r.os_type, arch: r.arch }, os, arch === '' ? r.arch : arch))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : comparePluginVersions(b.version, a.version)))
      .map((r) => PluginService.info(r, host));
  }

  /** For each installed persistent plugin with a newer live version in the catalogue: that version. */
  async upgradesFor(
    os: string,
    arch: string,
    installed: readonly { name: string; version: string }[],
  ): Promise<{ name: string; version: string; timeout: number }[]> {
    const names = [...new Set(installed.map((p) => p.name))];
    if (names.length === 0) {
      return [];
    }
    const rows = await this.#db
      .selectFrom('plugin_versions')
      .select(VERSION_COLUMNS)
      .where('retired', '=', 0)
      .where('name', 'in', valuesOf(this.#db, names))
      .execute();
    const out: { name: string; version: string; timeout: number }[] = [];
    for (const p of installed) {
      const newest = rows
        .filter((r) => r.name === p.name && pluginFits({ osType: r.os_type, arch: r.arch }, os.toLowerCase(), arch))
        .sort((a, b) => comparePluginVersions(b.version, a.version))[0];
      if (newest && comparePluginVersions(newest.version, p.version) > 0) {
        out.push({ name: p.name, version: newest.version, timeout: Number(newest.timeout) || 60 });
      }
    }
    return out;
  }

  /** A package's bytes for the download route; undefined when unknown or retired. */
  async packageOf(pluginId: string): Promise<{ name: string; zip: Buffer } | undefined> {
    const r = await this.#db
      .selectFrom('plugin_versions')
      .select(['name', 'package'])
      .where('plugin_id', '=', pluginId)
      .where('retired', '=', 0)
      .executeTakeFirst();
    return r ? { name: r.name, zip: Buffer.from(r.package) } : undefined;
  }

  /** Records an agent's report_status: one row per (instance, plugin), the latest state wins. */
  async applyStatusReport(instanceId: string, entries: readonly PluginStatusEntry[], now: number): Promise<void> {
    if (entries.length === 0) {
      return;
    }
    await this.#db.transaction().execute(async (tx) => {
      for (const e of entries) {
        await tx
          .insertInto('instance_plugins')
          .values({
            instance_id: instanceId,
            name: e.name,
            version: e.version,
            status: e.status,
            first_heartbeat_time: now,
            last_heartbeat_time: now,
          })
          .onConflict((oc) =>
            oc.columns(['instance_id', 'name']).doUpdateSet({
              version: e.version,
              status: e.status,
              last_heartbeat_time: now,
            }),
          )
          .execute();
      }
    });
  }

  /**
   * ListPluginStatus: per instance, its plugins' states. Without `name`, exactly one instance (the
   * product's rule); with it, that plugin on the given instances (NotInstalled where it never was)
   * or, with no instance given, on every instance that reported it.
   */
  async listStatus(f: { instanceIds: string[]; name?: string; paging: Paging }) {
    if (f.name === undefined && f.instanceIds.length !== 1) {
      throw new ApiError(
        'InvalidParameter.InstanceIds',
        'Specify exactly one InstanceId when Name is not given, or give the plugin Name.',
      );
    }
    if (f.name !== undefined && (f.name.length === 0 || f.name.length > 255)) {
      throw new ApiError('InvalidParameter.Name', 'Name must be 1 to 255 characters.');
    }
    let ids: string[];
    let fields: Record<string, unknown>;
    if (f.instanceIds.length > 0) {
      const known = await this.#db
        .selectFrom('instances')
        .select('instance_id')
        .where('instance_id', 'in', valuesOf(this.#db, f.instanceIds))
        .where('deregistered_at', 'is', null)
        .execute();
      const knownIds = new Set(known.map((r) => r.instance_id));
      const missing = f.instanceIds.find((id) => !knownIds.has(id));
      if (missing !== undefined) {
        throw new ApiError('InvalidInstanceId.NotFound', `The specified instance ${missing} does not exist.`);
      }
      const page = await keysetPage(
        this.#db
          .selectFrom('instances')
          .select('instance_id')
          .where('instance_id', 'in', valuesOf(this.#db, f.instanceIds)),
        f.paging,
        [{ column: 'instance_id', direction: 'asc', type: 'string' }],
        (r) => [r.instance_id],
        knownIds.size,
      );
      ids = page.rows.map((r) => r.instance_id);
      fields = page.fields;
    } else {
      const name = f.name!;
      // Instances that reported it and are still registered.
      const reported = () =>
        this.#db
          .selectFrom('instance_plugins as p')
          .innerJoin('instances as i', 'i.instance_id', 'p.instance_id')
          .where('p.name', '=', name)
          .where('i.deregistered_at', 'is', null);
      const total = await reported()
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      const page = await keysetPage(
        reported().select('p.instance_id as instance_id'),
        f.paging,
        [{ column: 'p.instance_id', direction: 'asc', type: 'string' }],
        (r) => [r.instance_id],
        Number(total.n),
      );
      ids = page.rows.map((r) => r.instance_id);
      fields = page.fields;
    }
    let rowsQ = this.#db.selectFrom('instance_plugins').selectAll().where('instance_id', 'in', valuesOf(this.#db, ids));
    if (f.name !== undefined) {
      rowsQ = rowsQ.where('name', '=', f.name);
    }
    const rows = ids.length > 0 ? await rowsQ.execute() : [];
    return {
      ...fields,
      InstancePluginStatusSet: {
        InstancePluginStatus: ids.map((id) => {
          const mine = rows.filter((r) => r.instance_id === id).sort((a, b) => (a.name < b.name ? -1 : 1));
          const statuses = mine.map((r) => ({
            PluginName: r.name,
            PluginVersion: r.version,
            PluginStatus: STATUS_NAMES[r.status] ?? 'Unknown',
            FirstHeartbeatTime: isoTime(r.first_heartbeat_time),
            LastHeartbeatTime: isoTime(r.last_heartbeat_time),
          }));
          if (statuses.length === 0 && f.name !== undefined) {
            statuses.push({
              PluginName: f.name,
              PluginVersion: '',
              PluginStatus: 'NotInstalled',
              FirstHeartbeatTime: '',
              LastHeartbeatTime: '',
            });
          }
          return { InstanceId: id, PluginStatusSet: { PluginStatus: statuses } };
        }),
      },
    };
  }

  /** A catalogue row as the luban plugin list carries it. */
  static info(r: VersionRow, host: string): PluginInfo {
    return {
      pluginId: r.plugin_id,
      name: r.name,
      arch: r.arch,
      osType: r.os_type,
      version: r.version,
      publisher: r.publisher,
      url: `https://${host}${PLUGIN_PACKAGES_PATH}/${r.plugin_id}/${encodeURIComponent(r.name)}.zip`,
      md5: r.md5,
      sha256: r.sha256,
      runPath: r.run_path,
      timeout: r.timeout,
      isPreInstalled: 'false',
      pluginType: r.plugin_type === 'Persist' ? 'Persist' : 'Once',
      heartbeatInterval: r.heartbeat_interval,
      isRemoved: false,
      addSysTag: r.add_sys_tag === 1,
    };
  }
}
