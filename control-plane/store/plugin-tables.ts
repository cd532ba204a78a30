// 0013_plugins: the plugin catalogue (one row per published package, the zip kept in the store so
// every node of a cluster serves it) and each instance's plugin statuses from report_status.
import type { Kysely, Migration } from 'kysely';
import { binaryType } from './dialect.js';

export const pluginsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('plugin_versions')
      .addColumn('plugin_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('version', 'varchar(64)', (c) => c.notNull())
      .addColumn('os_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('arch', 'varchar(16)', (c) => c.notNull())
      .addColumn('plugin_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('run_path', 'text', (c) => c.notNull())
      .addColumn('timeout', 'varchar(16)', (c) => c.notNull())
      .addColumn('publisher', 'text', (c) => c.notNull())
      .addColumn('heartbeat_interval', 'integer', (c) => c.notNull())
      .addColumn('add_sys_tag', 'integer', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('md5', 'varchar(32)', (c) => c.notNull())
      .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('package', binaryType(db), (c) => c.notNull())
      .addColumn('retired', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('plugin_versions_identity', ['name', 'version', 'os_type', 'arch'])
      .execute();
    await db.schema.createIndex('plugin_versions_name').on('plugin_versions').columns(['name', 'retired']).execute();
    await db.schema
      .createTable('instance_plugins')
      .addColumn('instance_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('version', 'varchar(64)', (c) => c.notNull())
      .addColumn('status', 'varchar(32)', (c) => c.notNull())
      .addColumn('first_heartbeat_time', 'bigint', (c) => c.notNull())
      .addColumn('last_heartbeat_time', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('instance_plugins_pk', ['instance_id', 'name'])
      .execute();
    await db.schema.createIndex('instance_plugins_name').on('instance_plugins').column('name').execute();
  },
};

/** One published plugin package (0013). `retired` versions are no longer offered to agents. */
export interface PluginVersionTable {
  plugin_id: string;
  name: string;
  version: string;
  os_type: string;
  arch: string;
  /** `Once` or `Persist`. */
  plugin_type: string;
  run_path: string;
  /** Seconds as text, as config.json has it ('' = the default 60). */
  timeout: string;
  publisher: string;
  heartbeat_interval: number;
  add_sys_tag: number;
  description: string;
  md5: string;
  sha256: string;
  size: number;
  package: Buffer;
  retired: number;
  created_at: number;
}

/** A plugin's last reported state on one instance (0013). */
export interface InstancePluginTable {
  instance_id: string;
  name: string;
  version: string;
  /** The agent's status: PERSIST_RUNNING, PERSIST_FAIL, PERSIST_UNKNOWN, ONCE_INSTALLED, REMOVED. */
  status: string;
  first_heartbeat_time: number;
  last_heartbeat_time: number;
}
