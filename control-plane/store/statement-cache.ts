// better-sqlite3 compiles a statement on every prepare(), and Kysely's SQLite driver prepares every
// query it runs: at fleet scale that compile was 8 % of the control plane's CPU. This wraps the
// database so the same SQL text reuses its compiled statement (least recently used ones go first).
// Safe because Kysely's SQLite driver runs one query at a time on its single connection.
import type { Database as SqliteDb } from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';
import { withRowObjects } from './row-objects.js';

export function withStatementCache(db: SqliteDb, max = 500): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    prepare(sql: string): SqliteStatement {
      let stmt = cache.get(sql);
      if (stmt) {
        // Re-inserted so the Map's order stays least recently used first.
        cache.delete(sql);
      } else {
        stmt = withRowObjects(db.prepare(sql));
        if (cache.size >= max) {
          cache.delete(cache.keys().next().value!);
        }
      }
      cache.set(sql, stmt);
      return stmt;
    },
    close: () => db.close(),
  };
}
