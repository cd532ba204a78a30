// The parameter store (OOS parameters, migration 0010): one row per parameter, one per version of
// its value, and its tags. Secret values are sealed with the data dir's master key (SecretBox).
import type { Kysely, Migration } from 'kysely';

export interface ParameterTable {
  /** The parameter's name, unique across String, StringList and Secret parameters. */
  name: string;
  /** `p-…`, the OOS `Id`. */
  parameter_id: string;
  /** String, StringList or Secret. */
  type: string;
  description: string;
  /** The Constraints JSON as given ('' for none). */
  constraints: string;
  /** The latest version (versions are 1, 2, … and older ones may have been pruned). */
  version: number;
  created_at: number;
  updated_at: number;
  /** Who created / last updated it (the AccessKey id). */
  created_by: string;
  updated_by: string;
}

export interface ParameterVersionTable {
  name: string;
  version: number;
  /** The value; for a Secret, the SecretBox seal of it (never the plaintext). */
  value: string;
  created_at: number;
  created_by: string;
}

export interface ParameterTagTable {
  name: string;
  tag_key: string;
  tag_value: string;
}

export const parametersMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('parameters')
      .addColumn('name', 'varchar(200)', (c) => c.primaryKey())
      .addColumn('parameter_id', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('constraints', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('parameters_type_created').on('parameters').columns(['type', 'created_at']).execute();
    await db.schema
      .createTable('parameter_versions')
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('parameter_versions_pk', ['name', 'version'])
      .execute();
    await db.schema
      .createTable('parameter_tags')
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('tag_key', 'varchar(128)', (c) => c.notNull())
      .addColumn('tag_value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('parameter_tags_pk', ['name', 'tag_key'])
      .execute();
    await db.schema.createIndex('parameter_tags_key').on('parameter_tags').columns(['tag_key', 'tag_value']).execute();
  },
};
