// The PostgreSQL store: Kysely's PostgresDialect over a `pg` pool, with the store's conventions
// kept: bigint (INT8) and numeric values come back as JS numbers as they do from SQLite, and
// transactions exclude each other as SQLite's do (one advisory lock per transaction), so services
// written as "read, decide, write" in a transaction stay correct with many connections and nodes.
// The agents' hot path (their fetches and reports, committed in groups) is the exception: its
// transactions take that lock in shared mode (concurrentWriters), so they run side by side with
// each other, lock the rows they read and then write (dialect.ts forWrite), and still exclude,
// and are excluded by, every ordinary transaction.
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryCompiler,
  type TransactionSettings,
} from 'kysely';
import { namingPool } from './pg-named-statements.js';
import type { Database } from './schema.js';

export interface PostgresStoreOptions {
  /** Connections in the pool (default 10, or `pool_size` in the URL). */
  poolSize?: number;
  /**
   * Serialize transactions with one advisory lock, as SQLite's single writer does (default true).
   * Statements outside transactions run concurrently either way.
   */
  serializeTransactions?: boolean;
  /** Hears errors of idle pooled connections (a server restart); the pool drops them and reconnects. */
  onPoolError?: (e: Error) => void;
  /** Lets the process exit while connections sit idle (tests). */
  allowExitOnIdle?: boolean;
}

export const DEFAULT_POOL_SIZE = 10;

/** pg type OIDs: INT8 (bigint, count(*)) and NUMERIC (sum of bigints). */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** The key of the advisory lock every store transaction takes ("oca-tx" as a number). */
const TRANSACTION_LOCK_KEY = 0x6f63612d7478;

type LockMode = 'exclusive' | 'shared';

/** Each store's handle for concurrent writers (see concurrentWriters), by the store's own handle. */
const concurrentHandles = new WeakMap<Kysely<Database>, Kysely<Database>>();

/**
 * The handle whose transactions may run concurrently with each other: on PostgreSQL they take the
 * transaction lock in shared mode, so they still exclude (and wait for) the store's ordinary
 * transactions, but not each other. Their work must be safe side by side: lock the rows read to
 * decide a write (dialect.ts forWrite), write counters as increments, and touch rows in a stable
 * order (ids sorted) so that two of them cannot deadlock. SQLite has one writer: the store itself.
 */
export function concurrentWriters(db: Kysely<Database>): Kysely<Database> {
  return concurrentHandles.get(db) ?? db;
}

/** Type parsers of this pool only: pg's global parsers are left as they are. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if ((oid === INT8_OID || oid === NUMERIC_OID) && format !== 'binary') {
      return (v: string) => Number(v);
    }
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** This store's own URL parameters, which `pg` does not know. */
interface StoreParams {
  /** `?pool_size=N`: connections in the pool. */
  poolSize?: number;
  /** `?prepared_statements=false`: run every statement unnamed (pg-named-statements.ts). */
  preparedStatements: boolean;
}

const STORE_PARAM_KEYS = ['pool_size', 'prepared_statements'];

/** The store's own parameters of a URL, and the URL without them. */
function takeStoreParams(url: string): StoreParams & { url: string } {
  // Not `new URL`: libpq URLs may have no host (`postgres://user@/db?host=/run/postgresql`).
  const q = url.indexOf('?');
  if (q < 0) {
    return { url, preparedStatements: true };
  }
  const params = url.slice(q + 1).split('&');
  const valueOf = (key: string) =>
    params
      .filter((p) => p.startsWith(`${key}=`))
      .at(-1)
      ?.slice(key.length + 1);
  const out: StoreParams = { preparedStatements: true };
  const size = valueOf('pool_size');
  if (size !== undefined) {
    const n = Number(size);
    if (!/^\d+$/.test(size) || n < 1) {
      throw new Error(`pool_size in the database URL must be a positive whole number, got ${size}`);
    }
    out.poolSize = n;
  }
  const prepared = valueOf('prepared_statements');
  if (prepared !== undefined) {
    if (prepared !== 'true' && prepared !== 'false') {
      throw new Error(`prepared_statements in the database URL must be true or false, got ${prepared}`);
    }
    out.preparedStatements = prepared === 'true';
  }
  const rest = params.filter((p) => !STORE_PARAM_KEYS.some((k) => p.startsWith(`${k}=`)));
  return { ...out, url: rest.length > 0 ? `${url.slice(0, q)}?${rest.join('&')}` : url.slice(0, q) };
}

/** The URL as `pg` takes it (without this store's own parameters), for a client of its own. */
export const pgConnectionString = (url: string): string => takeStoreParams(url).url;

/** A Kysely store on PostgreSQL; migrations are the caller's (openStore runs them). */
export function createPostgresStore(url: string, o: PostgresStoreOptions = {}): Kysely<Database> {
  const parsed = takeStoreParams(url);
  const pool = new pg.Pool({
    connectionString: parsed.url,
    max: o.poolSize ?? parsed.poolSize ?? DEFAULT_POOL_SIZE,
    types,
    application_name: 'assist-server',
    ...(o.allowExitOnIdle ? { allowExitOnIdle: true } : {}),
  });
  // Without a listener an idle connection's error (the server restarting) would end the process.
  pool.on('error', (e) => o.onPoolError?.(e));
  const base = new PostgresDialect({ pool: parsed.preparedStatements ? namingPool(pool) : pool });
  if (o.serializeTransactions === false) {
    return new Kysely<Database>({ dialect: base });
  }
  const serializing = (mode: LockMode, ownsPool: boolean): Dialect => ({
    createAdapter: () => base.createAdapter(),
    createDriver: () => new SerializingDriver(base.createDriver(), mode, ownsPool),
    createQueryCompiler: () => base.createQueryCompiler(),
    createIntrospector: (db) => base.createIntrospector(db),
  });
  const db = new Kysely<Database>({ dialect: serializing('exclusive', true) });
  // The same pool: destroying the store's handle ends it; this one's destroy leaves it be.
  concurrentHandles.set(db, new Kysely<Database>({ dialect: serializing('shared', false) }));
  return db;
}

/** PostgresDriver, with the transaction advisory lock taken at the start of every transaction. */
class SerializingDriver implements Driver {
  readonly #inner: Driver;
  readonly #lock: string;
  readonly #ownsPool: boolean;
  constructor(inner: Driver, mode: LockMode, ownsPool: boolean) {
    this.#inner = inner;
    const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
    this.#lock = `select ${fn}(${TRANSACTION_LOCK_KEY})`;
    this.#ownsPool = ownsPool;
  }
  init(): Promise<void> {
    return this.#inner.init();
  }
  acquireConnection(): Promise<DatabaseConnection> {
    return this.#inner.acquireConnection();
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const lock = this.#lock;
    if (settings.isolationLevel || settings.accessMode) {
      await this.#inner.beginTransaction(connection, settings);
      await connection.executeQuery(CompiledQuery.raw(lock));
    } else {
      // One round trip: a query without parameters may hold two statements.
      await connection.executeQuery(CompiledQuery.raw(`begin; ${lock}`));
    }
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.commitTransaction(connection);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.rollbackTransaction(connection);
  }
  async savepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.#inner.savepoint!(c, name, compile);
  }
  async rollbackToSavepoint(
    c: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await this.#inner.rollbackToSavepoint!(c, name, compile);
  }
  async releaseSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.#inner.releaseSavepoint!(c, name, compile);
  }
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(connection);
  }
  async destroy(): Promise<void> {
    if (this.#ownsPool) {
      await this.#inner.destroy();
    }
  }
}
