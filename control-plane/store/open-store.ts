// Opens the store, migrations applied: an SQLite file (default) or a PostgreSQL database (openStore).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';
import { withStatementCache } from './statement-cache.js';
import { createPostgresStore, isPostgresUrl, type PostgresStoreOptions } from './postgres-store.js';

export type Db = Kysely<Database>;

export interface StoreOptions extends PostgresStoreOptions {
  /** Apply the migrations (default true); false opens the database as it is (migration tests). */
  migrate?: boolean;
}

/**
 * Opens the store a URL names: `postgres://…` or `postgresql://…` (a PostgreSQL database; libpq's
 * URL form, plus `?pool_size=N`), `sqlite:<file>` or a plain path (an SQLite file; `:memory:`).
 */
export async function openStore(url: string, o: StoreOptions = {}): Promise<Db> {
  if (!isPostgresUrl(url)) {
    return openSqliteStore(sqlitePath(url), o);
  }
  const db = createPostgresStore(url, o);
  if (o.migrate !== false) {
    try {
      await migrate(db);
    } catch (e) {
      await db.destroy();
      throw e;
    }
  }
  return db;
}

/** `sqlite:<file>`, `sqlite://<abs path>` or a plain path, as a file name. */
function sqlitePath(url: string): string {
  if (!url.startsWith('sqlite:')) {
    return url;
  }
  const rest = url.slice('sqlite:'.length);
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

export async function openSqliteStore(file: string, o: { migrate?: boolean } = {}): Promise<Db> {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  }
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.defaultSafeIntegers(false);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  if (o.migrate !== false) {
    await migrate(db);
  }
  return db;
}

export async function migrate(db: Db): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(failed ? `store migration ${failed} failed: ${why}` : `store migrations could not run: ${why}`, {
      cause: error,
    });
  }
}
