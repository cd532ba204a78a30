// Tables of access policies (RAM users, their keys, policies, attachments) and of the audit trail,
// with their migrations (0011_access_policies, 0012_audit_log).
import type { Kysely, Migration } from 'kysely';

export interface RamUserTable {
  user_name: string;
  display_name: string;
  comments: string;
  created_at: number;
}

/** A policy document as the operator wrote it (RAM policy language, JSON text). */
export interface RamPolicyTable {
  policy_name: string;
  description: string;
  document: string;
  created_at: number;
  updated_at: number;
}

/** A group of RAM users: a policy attached to it applies to every member. */
export interface RamGroupTable {
  group_name: string;
  comments: string;
  created_at: number;
}

export interface RamGroupMemberTable {
  group_name: string;
  user_name: string;
  joined_at: number;
}

export interface RamPolicyAttachmentTable {
  policy_name: string;
  /** `User` or `Group`. */
  principal_type: string;
  principal_name: string;
  attached_at: number;
}

/** One row (id 1): `version` grows with every change of users, keys, policies or attachments. */
export interface RamStateTable {
  id: number;
  version: number;
}

/** One operator call (or a session event): who, with which key, what, on what, from where, and how it ended. */
export interface AuditLogTable {
  event_id: string;
  event_time: number;
  request_id: string;
  /** `Account` (a root key), `RAMUser`, or `Unknown` (a key that is not ours, a bad signature). */
  identity_type: string;
  user_name: string;
  access_key_id: string;
  event_action: string;
  /** JSON array of resource names (ARNs). */
  resources: string;
  source_ip: string;
  /** `Success` or the error code returned. */
  result: string;
  message: string;
}

/**
 * RAM users, groups and policies. Keys stay in access_keys: a key with a user_name belongs to that RAM
 * user and is checked against the user's policies; a key without one is an account (root) key.
 * ram_state holds one row whose version every change bumps, so each node of a cluster notices a
 * change with one small read instead of re-reading policies per request.
 */
export const accessPolicies: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('access_keys').addColumn('user_name', 'varchar(64)').execute();
    await db.schema
      .createTable('ram_users')
      .addColumn('user_name', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('comments', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('ram_policies')
      .addColumn('policy_name', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('ram_policy_attachments')
      .addColumn('policy_name', 'varchar(128)', (c) => c.notNull())
      .addColumn('principal_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('principal_name', 'varchar(64)', (c) => c.notNull())
      .addColumn('attached_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('ram_policy_attachments_pk', ['policy_name', 'principal_type', 'principal_name'])
      .execute();
    await db.schema
      .createIndex('ram_policy_attachments_principal')
      .on('ram_policy_attachments')
      .columns(['principal_type', 'principal_name'])
      .execute();
    await db.schema
      .createTable('ram_groups')
      .addColumn('group_name', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('comments', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('ram_group_members')
      .addColumn('group_name', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_name', 'varchar(64)', (c) => c.notNull())
      .addColumn('joined_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('ram_group_members_pk', ['group_name', 'user_name'])
      .execute();
    await db.schema.createIndex('ram_group_members_user').on('ram_group_members').column('user_name').execute();
    await db.schema
      .createTable('ram_state')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .execute();
    await (db as Kysely<{ ram_state: { id: number; version: number } }>)
      .insertInto('ram_state')
      .values({ id: 1, version: 1 })
      .execute();
  },
};

/** Every operator call, accepted or refused: kept for the configured retention, purged by time. */
export const auditLog: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('audit_log')
      .addColumn('event_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('event_time', 'bigint', (c) => c.notNull())
      .addColumn('request_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('identity_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('user_name', 'text', (c) => c.notNull())
      .addColumn('access_key_id', 'text', (c) => c.notNull())
      .addColumn('event_action', 'text', (c) => c.notNull())
      .addColumn('resources', 'text', (c) => c.notNull())
      .addColumn('source_ip', 'text', (c) => c.notNull())
      .addColumn('result', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_time').on('audit_log').columns(['event_time', 'event_id']).execute();
  },
};
