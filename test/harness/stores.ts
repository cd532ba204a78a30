// Runs a store or service test suite once per store dialect (DESIGN.md §7: every store and service
// test runs on both). `OCA_TEST_STORES=sqlite` (or `postgres`) limits the run to one of them.
//
//   forEachStore((store) => {
//     describe('my service', () => {
//       it('…', async () => { const db = await store.open(); … });
//     });
//   });
//
// Every database a suite opens is fresh (SQLite in memory; PostgreSQL: a new database in this test
// process's throwaway cluster) and is closed (and dropped) after the suite.
import { after, describe } from 'node:test';
import { openStore, type Db, type StoreDialect } from '../../control-plane/store/index.js';
import { createTestDatabase } from './postgres.js';

export const STORE_DIALECTS: readonly StoreDialect[] = ['sqlite', 'postgres'];

/** The dialects this run tests: both, unless OCA_TEST_STORES names some. */
export function testedDialects(): StoreDialect[] {
  const env = process.env['OCA_TEST_STORES'];
  if (!env) {
    return [...STORE_DIALECTS];
  }
  const asked = env.split(',').map((s) => s.trim());
  const unknown = asked.filter((s) => !(STORE_DIALECTS as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new Error(`OCA_TEST_STORES: unknown store ${unknown.join(', ')} (sqlite, postgres)`);
  }
  return asked as StoreDialect[];
}

export interface StoreUnderTest {
  dialect: StoreDialect;
  /** A fresh store with every migration applied. */
  open(): Promise<Db>;
  /** A fresh, empty database, no migration applied (for migration tests). */
  openEmpty(): Promise<Db>;
}

/** Opens fresh stores of one dialect; `close()` closes (and drops) every one it opened. */
export function storeOpener(dialect: StoreDialect): StoreUnderTest & { close(): Promise<void> } {
  const cleanups: (() => Promise<void>)[] = [];
  const open = async (migrated: boolean): Promise<Db> => {
    if (dialect === 'sqlite') {
      const db = await openStore(':memory:', { migrate: migrated });
      cleanups.push(() => db.destroy());
      return db;
    }
    const t = await createTestDatabase({ migrated });
    // A copy of the migrated template: migrating again only checks that it is current.
    const db = await openStore(t.url, { poolSize: 4, allowExitOnIdle: true, migrate: migrated });
    cleanups.push(async () => {
      await db.destroy();
      await t.drop();
    });
    return db;
  };
  return {
    dialect,
    open: () => open(true),
    openEmpty: () => open(false),
    close: async () => {
      for (const fn of cleanups.splice(0).reverse()) {
        await fn();
      }
    },
  };
}

/** Declares the suites of `body` once per tested dialect, each inside a `store: <dialect>` suite. */
export function forEachStore(body: (store: StoreUnderTest) => void): void {
  forDialects(testedDialects(), body);
}

/** forEachStore for what only PostgreSQL has (row locks, transactions side by side). */
export function onPostgres(body: (store: StoreUnderTest) => void): void {
  forDialects(
    testedDialects().filter((d) => d === 'postgres'),
    body,
  );
}

function forDialects(dialects: StoreDialect[], body: (store: StoreUnderTest) => void): void {
  for (const dialect of dialects) {
    describe(`store: ${dialect}`, () => {
      const s = storeOpener(dialect);
      after(() => s.close());
      body(s);
    });
  }
}
