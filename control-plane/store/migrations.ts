// Schema migrations, written with Kysely's schema builder so SQLite and PostgreSQL share them.
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { accessPolicies, auditLog } from './access-tables.js';
import { binaryType, dialectOf } from './dialect.js';
import { parametersMigration } from './parameter-tables.js';
import { pluginsMigration } from './plugin-tables.js';
import { sessionsMigration } from './session-tables.js';

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('access_keys')
      .addColumn('access_key_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('secret_enc', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('api_nonces')
      .addColumn('nonce', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('access_key_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('api_nonces_expires').on('api_nonces').column('expires_at').execute();
    await db.schema
      .createTable('activations')
      .addColumn('activation_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('instance_name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('ip_address_range', 'text', (c) => c.notNull())
      .addColumn('instance_count', 'integer', (c) => c.notNull())
      .addColumn('registered_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deregistered_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('ttl_hours', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('instances')
      .addColumn('instance_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('activation_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('machine_id', 'text', (c) => c.notNull())
      .addColumn('instance_name', 'text', (c) => c.notNull())
      .addColumn('hostname', 'text', (c) => c.notNull())
      .addColumn('intranet_ip', 'text', (c) => c.notNull())
      .addColumn('os_type', 'text', (c) => c.notNull())
      .addColumn('os_version', 'text', (c) => c.notNull())
      .addColumn('agent_version', 'text', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('region_id', 'text', (c) => c.notNull())
      .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('registered_at', 'bigint', (c) => c.notNull())
      .addColumn('last_heartbeat_at', 'bigint')
      .addColumn('last_invoked_at', 'bigint')
      .addColumn('deregistered_at', 'bigint')
      .execute();
    await db.schema
      .createTable('commands')
      .addColumn('command_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('type', 'varchar(32)', (c) => c.notNull())
      .addColumn('content', 'text', (c) => c.notNull())
      .addColumn('working_dir', 'text', (c) => c.notNull())
      .addColumn('timeout', 'integer', (c) => c.notNull())
      .addColumn('enable_parameter', 'integer', (c) => c.notNull())
      .addColumn('username', 'text', (c) => c.notNull())
      .addColumn('kept', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('invocations')
      .addColumn('invoke_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('command_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('command_name', 'text', (c) => c.notNull())
      .addColumn('command_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('command_content', 'text', (c) => c.notNull())
      .addColumn('command_description', 'text', (c) => c.notNull())
      .addColumn('parameters', 'text', (c) => c.notNull())
      .addColumn('repeat_mode', 'varchar(32)', (c) => c.notNull())
      .addColumn('frequency', 'text', (c) => c.notNull())
      .addColumn('timed', 'integer', (c) => c.notNull())
      .addColumn('username', 'text', (c) => c.notNull())
      .addColumn('working_dir', 'text', (c) => c.notNull())
      .addColumn('timeout', 'integer', (c) => c.notNull())
      .addColumn('enable_parameter', 'integer', (c) => c.notNull())
      .addColumn('client_token', 'varchar(64)', (c) => c.unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('invocations_created').on('invocations').column('created_at').execute();
    await db.schema
      .createTable('invocation_instances')
      .addColumn('invoke_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('instance_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('status', 'varchar(32)', (c) => c.notNull())
      .addColumn('exit_code', 'integer')
      .addColumn('output', binaryType(db), (c) => c.notNull())
      .addColumn('dropped', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error_code', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('error_info', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('repeats', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('creation_time', 'bigint', (c) => c.notNull())
      .addColumn('update_time', 'bigint', (c) => c.notNull())
      .addColumn('start_time', 'bigint')
      .addColumn('finish_time', 'bigint')
      .addColumn('stop_time', 'bigint')
      .addColumn('delivered_at', 'bigint')
      .addPrimaryKeyConstraint('invocation_instances_pk', ['invoke_id', 'instance_id'])
      .execute();
    await db.schema
      .createIndex('invocation_instances_instance_status')
      .on('invocation_instances')
      .columns(['instance_id', 'status'])
      .execute();
  },
};

/**
 * Issue 3: saved commands, tags, stop, delivery timeouts. Invocations get per-status record
 * counters and the aggregated status they imply, kept in step with every record transition, so
 * DescribeInvocations filters and pages in SQL however many instances an invocation has.
 */
const commandsAndStop: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('commands').addColumn('client_token', 'varchar(64)').execute();
    await db.schema.createIndex('commands_client_token').on('commands').column('client_token').unique().execute();
    await db.schema.createIndex('commands_kept_created').on('commands').columns(['kept', 'created_at']).execute();

    for (const [name, type] of [
      ['command_template', 'text'],
      ['windows_password_name', 'text'],
      ['request_fingerprint', 'text'],
      ['status', 'varchar(32)'],
    ] as const) {
      await db.schema
        .alterTable('invocations')
        .addColumn(name, type, (c) => c.notNull().defaultTo(''))
        .execute();
    }
    for (const n of ['n_pending', 'n_running', 'n_stopping', 'n_stopped', 'n_finished', 'n_failed']) {
      await db.schema
        .alterTable('invocations')
        .addColumn(n, 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    }
    await db.schema.createIndex('invocations_command').on('invocations').column('command_id').execute();
    await db.schema.createIndex('invocations_status').on('invocations').columns(['status', 'created_at']).execute();
    await db.schema
      .createIndex('invocation_instances_created')
      .on('invocation_instances')
      .columns(['creation_time', 'invoke_id', 'instance_id'])
      .execute();
    await db.schema
      .createIndex('invocation_instances_status_created')
      .on('invocation_instances')
      .columns(['status', 'creation_time'])
      .execute();

    await db.schema
      .createTable('tags')
      .addColumn('resource_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('resource_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('tag_key', 'varchar(128)', (c) => c.notNull())
      .addColumn('tag_value', 'varchar(128)', (c) => c.notNull())
      .addPrimaryKeyConstraint('tags_pk', ['resource_type', 'resource_id', 'tag_key'])
      .execute();
    await db.schema
      .createIndex('tags_key_value')
      .on('tags')
      .columns(['resource_type', 'tag_key', 'tag_value'])
      .execute();

    // Existing invocations: the template is the content that was sent; counters and status from
    // their records (the same classes as recordStatus(), and the priority of invocationStatus()).
    await sql`UPDATE invocations SET command_template = command_content`.execute(db);
    const classes: [string, string[]][] = [
      ['n_pending', ['Pending']],
      ['n_running', ['Running']],
      ['n_stopping', ['Stopping']],
      ['n_stopped', ['Stopped']],
      ['n_finished', ['Success', 'Failed']],
      ['n_failed', ['Timeout', 'Error', 'Invalid', 'Aborted']],
    ];
    for (const [col, statuses] of classes) {
      await sql`UPDATE invocations SET ${sql.ref(col)} = (SELECT COUNT(*) FROM invocation_instances r
        WHERE r.invoke_id = invocations.invoke_id AND r.status IN (${sql.join(statuses)}))`.execute(db);
    }
    await sql`UPDATE invocations SET status = CASE
        WHEN n_pending + n_running + n_stopping + n_stopped + n_finished + n_failed = n_pending THEN 'Pending'
        WHEN n_running > 0 OR n_pending > 0 THEN 'Running'
        WHEN n_stopping > 0 THEN 'Stopping'
        WHEN n_finished = 0 AND n_failed = 0 THEN 'Stopped'
        WHEN n_finished = 0 THEN 'Failed'
        WHEN n_failed = 0 THEN 'Finished'
        ELSE 'PartialFailed' END`.execute(db);
  },
};

/**
 * Issue 4: schedules and boot-time tasks. Invocations keep what the agent gets on the wire
 * (`repeat`, `cron`, `invokeVersion`) and a counter of records waiting for their first run; each
 * run of a periodic or EveryReboot execution is a row of `invocation_runs`, keyed by the agent's
 * start time of the run so that a re-sent report is recorded once.
 */
const schedules: Migration = {
  async up(db: Kysely<unknown>) {
    for (const [name, type, dflt] of [
      ['wire_repeat', 'varchar(16)', ''],
      ['wire_cron', 'text', ''],
      ['invoke_version', 'integer', 0],
      ['n_scheduled', 'integer', 0],
    ] as const) {
      await db.schema
        .alterTable('invocations')
        .addColumn(name, type, (c) => c.notNull().defaultTo(dflt))
        .execute();
    }
    await db.schema.alterTable('invocation_instances').addColumn('delivered_version', 'integer').execute();
    await db.schema
      .createTable('invocation_runs')
      .addColumn('invoke_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('instance_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('run_start', 'bigint', (c) => c.notNull())
      .addColumn('repeat_no', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(32)', (c) => c.notNull())
      .addColumn('exit_code', 'integer')
      .addColumn('output', binaryType(db), (c) => c.notNull())
      .addColumn('dropped', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error_code', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('error_info', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('creation_time', 'bigint', (c) => c.notNull())
      .addColumn('update_time', 'bigint', (c) => c.notNull())
      .addColumn('start_time', 'bigint')
      .addColumn('finish_time', 'bigint')
      .addColumn('stop_time', 'bigint')
      .addPrimaryKeyConstraint('invocation_runs_pk', ['invoke_id', 'instance_id', 'run_start'])
      .execute();
    await db.schema
      .createIndex('invocation_runs_repeat')
      .on('invocation_runs')
      .columns(['invoke_id', 'repeat_no', 'instance_id'])
      .execute();
  },
};

const fileSends: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('file_sends')
      .addColumn('invoke_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('content', 'text', (c) => c.notNull())
      .addColumn('content_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('target_dir', 'text', (c) => c.notNull())
      .addColumn('file_owner', 'text', (c) => c.notNull())
      .addColumn('file_group', 'text', (c) => c.notNull())
      .addColumn('file_mode', 'varchar(8)', (c) => c.notNull())
      .addColumn('overwrite', 'integer', (c) => c.notNull())
      .addColumn('timeout', 'integer', (c) => c.notNull())
      .addColumn('client_token', 'varchar(64)', (c) => c.unique())
      .addColumn('request_fingerprint', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('file_sends_created').on('file_sends').columns(['created_at', 'invoke_id']).execute();
    await db.schema
      .createTable('file_send_instances')
      .addColumn('invoke_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('instance_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('status', 'varchar(32)', (c) => c.notNull())
      .addColumn('error_code', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('error_info', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('creation_time', 'bigint', (c) => c.notNull())
      .addColumn('update_time', 'bigint', (c) => c.notNull())
      .addColumn('start_time', 'bigint')
      .addColumn('finish_time', 'bigint')
      .addPrimaryKeyConstraint('file_send_instances_pk', ['invoke_id', 'instance_id'])
      .execute();
    await db.schema
      .createIndex('file_send_instances_waiting')
      .on('file_send_instances')
      .columns(['instance_id', 'status'])
      .execute();
  },
};

/** Fleet listings (DescribeManagedInstances) sort live instances by registration and filter by name. */
const instanceListing: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createIndex('instances_live_registered')
      .on('instances')
      .columns(['registered_at', 'instance_id'])
      .where(sql.ref('deregistered_at'), 'is', null)
      .execute();
    await db.schema.createIndex('instances_name').on('instances').column('instance_name').execute();
    await db.schema.createIndex('instances_activation').on('instances').column('activation_id').execute();
  },
};

/** Agent request ids live in the store, like the API nonces: a replay is refused after a restart too. */
const agentRequestIds: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('agent_request_ids')
      .addColumn('id', 'varchar(160)', (c) => c.primaryKey())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('agent_request_ids_expires').on('agent_request_ids').column('expires_at').execute();
  },
};

/** Presence of agents on the nodes of a cluster (a single node keeps it too: listings read it). */
const agentPresence: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('agent_presence')
      .addColumn('instance_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('node_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('lease_until', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('agent_presence_node').on('agent_presence').column('node_id').execute();
  },
};

/**
 * PostgreSQL enforces what SQLite only declares: varchar(n) lengths and 32-bit `integer`. Columns
 * that hold a caller's or an agent's value with no limit of that size become text / bigint:
 * ClientToken and SignatureNonce (no length limit in the API), an agent's request id, and an
 * agent's exitCode (Windows reports NTSTATUS codes such as 3221225477) and dropped byte counts.
 * SQLite already stores all of these as they are: nothing to do there.
 */
const postgresWidths: Migration = {
  async up(db: Kysely<unknown>) {
    if (dialectOf(db) !== 'postgres') {
      return;
    }
    const widen: [string, string, 'text' | 'bigint'][] = [
      ['api_nonces', 'nonce', 'text'],
      ['agent_request_ids', 'id', 'text'],
      ['commands', 'client_token', 'text'],
      ['invocations', 'client_token', 'text'],
      ['file_sends', 'client_token', 'text'],
      ['invocation_instances', 'exit_code', 'bigint'],
      ['invocation_instances', 'dropped', 'bigint'],
      ['invocation_runs', 'exit_code', 'bigint'],
      ['invocation_runs', 'dropped', 'bigint'],
    ];
    for (const [table, column, type] of widen) {
      await db.schema
        .alterTable(table)
        .alterColumn(column, (c) => c.setDataType(type))
        .execute();
    }
  },
};

/**
 * Agent request ids keyed by (expires_at, id), with no other index. Every agent request inserts one,
 * and a random UUID as the whole key put each insert on a random page of a large index (plus a
 * second index to purge by): 40–80 µs a row on SQLite with a fleet's 15 minutes of ids. Led by the
 * expiry (the signed timestamp plus the window), inserts land at the end of one index, and the
 * purge deletes from its start. A replay repeats the signed timestamp, so it repeats the whole key
 * and is still refused; the same id under a new timestamp needs a new signature, which only the
 * instance's key can make. On SQLite the table is WITHOUT ROWID: the key is the table.
 */
const requestIdsByExpiry: Migration = {
  async up(db: Kysely<unknown>) {
    const postgres = dialectOf(db) === 'postgres';
    await db.schema
      .createTable('agent_request_ids_by_expiry')
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('id', postgres ? 'text' : 'varchar(160)', (c) => c.notNull())
      .addPrimaryKeyConstraint('agent_request_ids_pkey_expiry', ['expires_at', 'id'])
      .$call((b) => (postgres ? b : b.modifyEnd(sql`without rowid`)))
      .execute();
    await sql`insert into agent_request_ids_by_expiry (expires_at, id) select expires_at, id from agent_request_ids`.execute(
      db,
    );
    await db.schema.dropTable('agent_request_ids').execute();
    await db.schema.alterTable('agent_request_ids_by_expiry').renameTo('agent_request_ids').execute();
  },
};

/**
 * Indexes in DescribeInvocationResults' order: newest execution first, then invocation (both
 * descending), then instance (ascending). The index of 0002 had all three ascending, so neither a
 * walk of one invocation nor of all of them could follow it: every page sorted all the rows of the
 * invocation (10,000 for a fan-out to 10,000 instances) to return 50 of them. One invocation's
 * results come in order from the second index, led by its id; its runs (IncludeHistory: newest
 * run first, then instance ascending) from the third.
 */
const resultsOrder: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex('invocation_instances_created').execute();
    await db.schema
      .createIndex('invocation_instances_created')
      .on('invocation_instances')
      .columns(['creation_time desc', 'invoke_id desc', 'instance_id'])
      .execute();
    await db.schema
      .createIndex('invocation_instances_invoke_order')
      .on('invocation_instances')
      .columns(['invoke_id', 'creation_time desc', 'instance_id'])
      .execute();
    await db.schema
      .createIndex('invocation_runs_order')
      .on('invocation_runs')
      .columns(['invoke_id', 'run_start desc', 'instance_id'])
      .execute();
  },
};

export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_commands_and_stop': commandsAndStop,
  '0004_schedules': schedules,
  '0005_file_sends': fileSends,
  '0006_instance_listing': instanceListing,
  '0007_agent_request_ids': agentRequestIds,
  '0008_agent_presence': agentPresence,
  '0009_postgres_widths': postgresWidths,
  '0011_access_policies': accessPolicies,
  '0012_audit_log': auditLog,
  '0010_parameters': parametersMigration,
  '0014_sessions': sessionsMigration,
  '0013_plugins': pluginsMigration,
  '0015_request_ids_by_expiry': requestIdsByExpiry,
  '0016_results_order': resultsOrder,
};

export const migrationProvider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };
